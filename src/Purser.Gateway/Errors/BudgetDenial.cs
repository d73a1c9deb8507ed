using System.Globalization;
using System.Text.Json;
using Purser.Pricing;

namespace Purser.Gateway.Errors;

/// <summary>The machine-readable part of a 402: which budget refused, its numbers, and what the caller can do.</summary>
internal sealed record BudgetDenial(
    string Code,
    string Scope,
    string BudgetId,
    string Window,
    Money? Limit,
    Money Spent,
    Money Held,
    Money? Requested,
    long? LimitTokens,
    long SpentTokens,
    long HeldTokens,
    DateTimeOffset? ResetsAt,
    string Remedy)
{
    public void WriteFields(Utf8JsonWriter json)
    {
        json.WriteString("scope"u8, Scope);
        json.WriteString("budget_id"u8, BudgetId);
        json.WriteString("window"u8, Window);
        if (Limit is { } limit)
        {
            json.WriteString("limit"u8, limit.ToString());
        }

        json.WriteString("spent"u8, Spent.ToString());
        json.WriteString("held"u8, Held.ToString());
        if (Requested is { } requested)
        {
            json.WriteString("requested"u8, requested.ToString());
        }

        if (LimitTokens is { } tokens)
        {
            json.WriteNumber("limit_tokens"u8, tokens);
            json.WriteNumber("spent_tokens"u8, SpentTokens);
            json.WriteNumber("held_tokens"u8, HeldTokens);
        }

        if (ResetsAt is { } reset)
        {
            json.WriteString("resets_at"u8, reset.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull("resets_at"u8);
        }

        json.WriteString("remedy"u8, Remedy);
    }
}
