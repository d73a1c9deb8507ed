using System.Text.Json.Nodes;
using Purser.Budgets;
using Purser.Gateway.Admin;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;

namespace Purser.Gateway.Endpoints;

/// <summary>
/// Probes for a load balancer or an orchestrator. <c>/healthz</c> (liveness): the process serves HTTP.
/// <c>/readyz</c> (readiness): a configuration is loaded and the budget ledger answers a read — or, while it does not,
/// the configured fail-open allowance still has room; otherwise 503 with the reason, so traffic goes to an instance
/// that can admit requests. Neither needs a key; neither says more than ok or why not.
/// </summary>
internal static class HealthEndpoints
{
    // A probe that takes longer than this is a ledger an instance cannot serve from.
    private static readonly TimeSpan LedgerTimeout = TimeSpan.FromSeconds(2);

    // A counter no budget has: reading it is one round trip that touches no real counter.
    private static readonly CounterKey[] Probe = [new("purser.readyz", "probe")];

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", () => Results.Text("ok"));
        routes.MapGet("/readyz", ReadyAsync);
        return routes;
    }

    private static async Task<IResult> ReadyAsync(HttpContext http, ConfigMonitor config, IBudgetLedger ledger, TimeProvider time, IServiceProvider services)
    {
        // The gateway does not start without a valid configuration, and a bad reload keeps the last good one serving.
        var checks = new JsonObject { ["configuration"] = config.Current.Config.Models.Count > 0 ? "ok" : "no models" };
        string? reason = null;
        using var deadline = new CancellationTokenSource(LedgerTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadline.Token);
        try
        {
            await ledger.ReadAsync(Probe, timeout.Token).ConfigureAwait(false);
            checks["ledger"] = "ok";
        }
        catch (Exception ex) when (ex is LedgerUnavailableException or System.Data.Common.DbException || (ex is OperationCanceledException && !http.RequestAborted.IsCancellationRequested))
        {
            var unreachable = ex is OperationCanceledException ? $"no answer within {LedgerTimeout.TotalSeconds:0} s" : "unreachable";
            var failOpen = services.GetService<FailOpenAllowance>();
            if (failOpen is not null && failOpen.Spent + failOpen.Held < failOpen.LocalCap)
            {
                checks["ledger"] = $"{unreachable}; fail_open engaged ({(failOpen.LocalCap - failOpen.Spent - failOpen.Held).ToString()} USD of {failOpen.LocalCap.ToString()} left)";
            }
            else
            {
                checks["ledger"] = unreachable;
                reason = failOpen is null
                    ? $"the budget ledger is {unreachable} (fail closed: requests get 503 ledger_unavailable)"
                    : $"the budget ledger is {unreachable} and this instance's fail_open allowance is used up";
            }
        }

        var body = new JsonObject { ["status"] = reason is null ? "ready" : "not_ready", ["checks"] = checks };
        if (reason is not null)
        {
            body["reason"] = reason;
        }

        return new AdminEndpoints.JsonResult(body, reason is null ? 200 : 503);
    }
}
