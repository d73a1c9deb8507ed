using System.Globalization;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The handoff surface out: what is left in the tightest applicable USD window, its limit, when it resets and which
/// scope it is, on every proxied response that has budgets on its path.
/// </summary>
internal static class BudgetHeaders
{
    public static void Apply(HttpResponse response, in BudgetStanding standing)
    {
        if (!standing.HasUsdCap)
        {
            return;
        }

        var headers = response.Headers;
        headers["x-budget-remaining"] = standing.Remaining.ToString();
        headers["x-budget-limit"] = standing.Limit.ToString();
        headers["x-budget-scope"] = standing.Scope;
        if (standing.ResetsAt is { } reset)
        {
            headers["x-budget-reset"] = reset.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }
    }
}
