using Purser.Budgets.Reservations;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Ends the reservations whose time has passed (children first) and gives their unspent remainder back, on the
/// injected clock every few seconds. Draws in flight keep their worst case held; a crashed instance's draws are charged
/// by <see cref="HoldExpiry"/> like any hold.
/// </summary>
internal sealed class ReservationExpiry : LedgerSweep
{
    private readonly IReservationLedger _ledger;
    private readonly ILogger<ReservationExpiry> _logger;

    public ReservationExpiry(IReservationLedger ledger, BudgetEvents events, TimeProvider time, ILogger<ReservationExpiry> logger)
        : base(events, time)
    {
        _ledger = ledger;
        _logger = logger;
    }

    protected override string Work => "Expiring budget reservations";

    protected override async Task SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var outcome = await _ledger.ExpireReservationsAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var ended in outcome.Ended)
        {
            Events.Raise("reservation.released", "key:" + ended.KeyId, null,
                $"Reservation {ended.Id} expired: spent ${ended.Spent} of ${ended.Amount}, ${ended.Remaining} given back.",
                dedupeKey: "reservation.released:" + ended.Id);
        }
    }

    protected override void LogFailure(Exception exception) => Log.ReservationExpiryFailed(_logger, exception);
}
