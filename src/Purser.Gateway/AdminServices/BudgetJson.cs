using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.AdminServices;

/// <summary>A budget as the admin API shows it (its body is read by the budgets section, <see cref="Purser.Configuration.AdminEntries"/>).</summary>
internal static class BudgetJson
{
    public static JsonObject Write(BudgetDefinition budget, string source, WindowInstance window, CounterState state)
    {
        var remaining = budget.CapUsd is { } cap ? Money.Max(Money.Zero, cap - state.Spent - state.Held) : (Money?)null;
        var thresholds = new JsonArray();
        foreach (var t in budget.AlertThresholds)
        {
            thresholds.Add((JsonNode?)t);
        }

        return new JsonObject
        {
            ["id"] = budget.Id,
            ["scope"] = budget.Scope.ToString(),
            ["under"] = budget.Under?.ToString(),
            ["model"] = budget.Model,
            ["window"] = BudgetAdmission.WindowName(budget.Window),
            ["timezone"] = budget.TimeZone,
            ["cap_usd"] = budget.CapUsd?.ToString(),
            ["cap_tokens"] = budget.CapTokens,
            ["enforcement"] = budget.Enforcement == Enforcement.Hard ? "hard" : "soft",
            ["mode"] = budget.Mode == AccountingMode.Reserve ? "reserve" : "post_hoc",
            ["alert_thresholds"] = thresholds,
            ["degrade"] = budget.Degrade is { } d ? new JsonObject { ["fallback_model"] = d.FallbackModel, ["min_max_tokens"] = d.MinMaxTokens, ["throttle_rpm"] = d.ThrottleRpm } : null,
            ["source"] = source,
            ["current"] = new JsonObject
            {
                ["window_key"] = window.Key,
                ["spent"] = state.Spent.ToString(),
                ["held"] = state.Held.ToString(),
                ["remaining"] = remaining?.ToString(),
                ["spent_tokens"] = state.SpentTokens,
                ["held_tokens"] = state.HeldTokens,
                ["resets_at"] = window.ResetsAt?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            },
        };
    }

    internal static string? Text(JsonObject body, string field) =>
        body[field] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    internal static GatewayError Invalid(string field, string rule) =>
        new(GatewayErrorCode.InvalidRequest, $"'{field}' {rule}.", field);
}
