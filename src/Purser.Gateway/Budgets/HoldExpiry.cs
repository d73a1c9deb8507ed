using Purser.Budgets;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Charges in full the holds whose requests never settled (a crash, a lost settlement), so money is never
/// under-counted. Runs on the injected clock every few seconds; a late settlement still corrects the charge.
/// </summary>
internal sealed class HoldExpiry : LedgerSweep
{
    private readonly IBudgetLedger _ledger;
    private readonly ILogger<HoldExpiry> _logger;

    public HoldExpiry(IBudgetLedger ledger, BudgetEvents events, TimeProvider time, ILogger<HoldExpiry> logger)
        : base(events, time)
    {
        _ledger = ledger;
        _logger = logger;
    }

    protected override string Work => "Expiring budget holds";

    protected override async Task SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var expired = await _ledger.ExpireAsync(now, cancellationToken).ConfigureAwait(false);
        if (expired > 0)
        {
            Log.HoldsExpired(_logger, expired);
            Events.Raise("budget.hold_expired", null, null, $"Charged {expired} expired budget holds in full (their requests never settled; a late settlement still corrects the charge).");
        }
    }

    protected override void LogFailure(Exception exception) => Log.HoldExpiryFailed(_logger, exception);
}
