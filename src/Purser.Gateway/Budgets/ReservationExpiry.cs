using Purser.Budgets.Reservations;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Ends the reservations whose time has passed (children first) and gives their unspent remainder back, on the
/// injected clock every few seconds. Draws in flight keep their worst case held; a crashed instance's draws are charged
/// by <see cref="HoldExpiry"/> like any hold.
/// </summary>
internal sealed class ReservationExpiry : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    private readonly IReservationLedger _ledger;
    private readonly TimeProvider _time;
    private readonly BudgetEvents _events;
    private readonly ILogger<ReservationExpiry> _logger;

    public ReservationExpiry(IReservationLedger ledger, BudgetEvents events, TimeProvider time, ILogger<ReservationExpiry> logger)
    {
        _ledger = ledger;
        _events = events;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
                var outcome = await _ledger.ExpireReservationsAsync(_time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                foreach (var ended in outcome.Ended)
                {
                    _events.Raise("reservation.released", "key:" + ended.KeyId, null,
                        $"Reservation {ended.Id} expired: spent ${ended.Spent} of ${ended.Amount}, ${ended.Remaining} given back.",
                        dedupeKey: "reservation.released:" + ended.Id);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.ReservationExpiryFailed(_logger, ex);
                _events.Raise("ledger.fault", null, null, "Expiring budget reservations failed: " + ex.GetType().Name + ".");
            }
        }
    }
}
