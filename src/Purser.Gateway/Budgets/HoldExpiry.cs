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
    private readonly ILogger<HoldExpiry> _logger;

    public HoldExpiry(IBudgetLedger ledger, TimeProvider time, ILogger<HoldExpiry> logger)
    {
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
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.HoldExpiryFailed(_logger, ex);
            }
        }
    }
}
