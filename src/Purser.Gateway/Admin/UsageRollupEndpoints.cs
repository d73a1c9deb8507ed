using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Usage;

namespace Purser.Gateway.Admin;

/// <summary>
/// <c>GET /admin/usage/rollups?from=&amp;to=</c>: the hourly totals by key, model alias and outcome, which outlive the
/// records' retention. <c>from</c> is rounded down to its UTC hour; <c>to</c> (exclusive, default now) up to the end
/// of its hour, so the current hour is included. <c>purser spend</c> sums these.
/// </summary>
internal static class UsageRollupEndpoints
{
    public static async Task<IResult> QueryAsync(HttpContext http, IUsageRollups rollups, IUsageExport export, TimeProvider time)
    {
        if (AdminEndpoints.ReadUsageQuery(http.Request.Query, out var range) is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var from = range.From ?? time.GetUtcNow().AddDays(-1);
        var to = range.To ?? time.GetUtcNow();
        var fromHour = UsageOutcome.HourOf(from.ToUnixTimeMilliseconds());
        var toHour = UsageOutcome.HourOf(to.ToUnixTimeMilliseconds() - 1) + UsageOutcome.HourMs;
        await export.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        var list = new JsonArray();
        foreach (var r in await rollups.QueryRollupsAsync(DateTimeOffset.FromUnixTimeMilliseconds(fromHour), DateTimeOffset.FromUnixTimeMilliseconds(toHour), http.RequestAborted).ConfigureAwait(false))
        {
            list.Add((JsonNode?)new JsonObject
            {
                ["hour"] = r.HourStart.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["key_id"] = r.KeyId,
                ["model"] = r.ModelAlias,
                ["outcome"] = r.Outcome,
                ["requests"] = r.Requests,
                ["input_tokens"] = r.InputTokens,
                ["output_tokens"] = r.OutputTokens,
                ["cost_usd"] = r.Cost.ToString(),
                ["degraded"] = r.Degraded,
            });
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }
}
