using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// A pass over the ledger every few seconds on the injected clock (hold expiry, reservation expiry): a failed pass is
/// logged, raised as a <c>ledger.fault</c> event, and the next pass runs.
/// </summary>
internal abstract class LedgerSweep : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    protected LedgerSweep(BudgetEvents events, TimeProvider time)
    {
        Events = events;
        Time = time;
    }

    protected BudgetEvents Events { get; }

    protected TimeProvider Time { get; }

    /// <summary>What the <c>ledger.fault</c> event says failed, e.g. "Expiring budget holds".</summary>
    protected abstract string Work { get; }

    protected abstract Task SweepAsync(DateTimeOffset now, CancellationToken cancellationToken);

    protected abstract void LogFailure(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A delay re-armed after each pass rather than a periodic timer: when the clock jumps (a fake clock in tests,
        // a suspended VM), one pass catches up instead of one pass per missed period.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Period, Time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await SweepAsync(Time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailure(ex);
                Events.Raise("ledger.fault", null, null, Work + " failed: " + ex.GetType().Name + ".");
            }
        }
    }
}
