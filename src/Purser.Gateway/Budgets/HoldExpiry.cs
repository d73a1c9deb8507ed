using Purser.Budgets;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Charges in full the holds whose requests never settled (a crash, a lost settlement), so money is never
/// under-counted. Runs on the injected clock every few seconds; a late settlement still corrects the charge.
/// </summary>
internal sealed class HoldExpiry : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    private readonly IBudgetLedger _ledger;
    private readonly TimeProvider _time;
    private readonly BudgetEvents _events;
    private readonly ILogger<HoldExpiry> _logger;

    public HoldExpiry(IBudgetLedger ledger, BudgetEvents events, TimeProvider time, ILogger<HoldExpiry> logger)
    {
        _events = events;
        _ledger = ledger;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A delay re-armed after each pass rather than a periodic timer: when the clock jumps (a fake clock in tests,
        // a suspended VM), one pass catches up instead of one pass per missed period.
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Period, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                var expired = await _ledger.ExpireAsync(_time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                if (expired > 0)
                {
                    Log.HoldsExpired(_logger, expired);
                    _events.Raise("budget.hold_expired", null, null, $"Charged {expired} expired budget holds in full (their requests never settled; a late settlement still corrects the charge).");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.HoldExpiryFailed(_logger, ex);
                _events.Raise("ledger.fault", null, null, "Expiring budget holds failed: " + ex.GetType().Name + ".");
            }
        }
    }
}
