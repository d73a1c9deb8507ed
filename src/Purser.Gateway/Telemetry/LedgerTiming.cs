using System.Diagnostics;
using Purser.Budgets;

namespace Purser.Gateway.Telemetry;

/// <summary>Times a ledger reserve for <c>purser.ledger.duration</c>, failures included (they are what an operator looks for).</summary>
internal static class LedgerTiming
{
    public static async ValueTask<HoldOutcome> ReserveAsync(IBudgetLedger ledger, HoldRequest request, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        using var span = GatewayTracing.StartLedger("reserve");
        var failed = true;
        try
        {
            var outcome = await ledger.ReserveAsync(request, cancellationToken).ConfigureAwait(false);
            failed = false;
            return outcome;
        }
        finally
        {
            GatewayMetrics.Ledger("reserve", TimeProvider.System.GetElapsedTime(started), failed);
            span?.SetStatus(failed ? ActivityStatusCode.Error : ActivityStatusCode.Unset);
        }
    }
}
