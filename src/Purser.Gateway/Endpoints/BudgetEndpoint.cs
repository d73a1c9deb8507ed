using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Gateway.Admin;
using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Wire;
using Purser.Gateway.AdminServices;

namespace Purser.Gateway.Endpoints;

/// <summary>
/// <c>GET /v1/budget</c>: the caller's budgets (organisation, team, key, and the task named by x-budget-scope), each
/// with its current window's spent, held and remaining, and the tightest window — what the response headers say.
/// </summary>
internal static class BudgetEndpoint
{
    public static async Task HandleAsync(HttpContext context, ConfigMonitor config, BudgetAdmission budgets, IBudgetLedger ledger, TimeProvider time)
    {
        var state = config.Current;
        if (CallerAuthenticator.Authenticate(context.Request, state, time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        if (BudgetRequestHeaders.Parse(context.Request.Headers, out var headers) is { } badHeader)
        {
            await ErrorWriter.WriteAsync(context, badHeader, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        // Reading never creates a task budget: only a call that may spend does.
        var (lines, pathError) = await budgets.PathAsync(state, key!, headers with { Ceiling = null }, null, context.RequestAborted, reading: true).ConfigureAwait(false);
        if (pathError is { } badPath)
        {
            await ErrorWriter.WriteAsync(context, badPath, ApiFormat.OpenAI).ConfigureAwait(false);
            return;
        }

        var counters = new CounterKey[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            counters[i] = lines[i].ToHoldLine().Counter;
        }

        var states = BudgetAdmission.Whole(lines, await ledger.ReadAsync(counters, context.RequestAborted).ConfigureAwait(false));
        var list = new JsonArray();
        for (var i = 0; i < lines.Count; i++)
        {
            list.Add((JsonNode?)BudgetJson.Write(lines[i].Budget, IsFromFile(state, lines[i].Budget.Id) ? "config" : "api", lines[i].Window, states[i]));
        }

        var tightest = BudgetAdmission.Standing(lines, states, Pricing.Money.Zero, Pricing.Money.Zero);
        BudgetHeaders.Apply(context.Response, tightest);
        var body = new JsonObject
        {
            ["key"] = key!.Id,
            ["data"] = list,
            ["tightest"] = tightest.HasUsdCap
                ? new JsonObject
                {
                    ["scope"] = tightest.Scope,
                    ["window"] = tightest.Window,
                    ["remaining"] = tightest.Remaining.ToString(),
                    ["limit"] = tightest.Limit.ToString(),
                    ["resets_at"] = tightest.ResetsAt?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                }
                : null,
        };
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, GatewayJsonContext.Default.JsonObject, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IsFromFile(GatewayState state, string budgetId)
    {
        foreach (var budget in state.Config.Budgets)
        {
            if (budget.Id == budgetId)
            {
                return true;
            }
        }

        return false;
    }
}
