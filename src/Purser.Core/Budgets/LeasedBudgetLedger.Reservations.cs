using Purser.Budgets.Reservations;

namespace Purser.Budgets;

/// <summary>
/// Reservations go to the inner ledger, never to a lease: a reservation's hold must lower the headroom every instance
/// sees, and a draw must be checked against the one shared remainder. Draws are settled through
/// <see cref="SettleAsync"/>, which passes every hold it did not grant locally to the inner ledger.
/// </summary>
public sealed partial class LeasedBudgetLedger : IReservationLedger
{
    private IReservationLedger Reservations =>
        _inner as IReservationLedger ?? throw new NotSupportedException("The inner ledger does not keep reservations.");

    public ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken) =>
        Reservations.CreateReservationAsync(request, cancellationToken);

    public ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken) =>
        Reservations.DrawAsync(request, cancellationToken);

    public ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken) =>
        Reservations.GetReservationAsync(id, keyId, cancellationToken);

    public ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        Reservations.ReleaseReservationAsync(id, keyId, now, cancellationToken);

    public ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        Reservations.ExpireReservationsAsync(now, cancellationToken);

    public ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken) =>
        Reservations.ListReservationsAsync(keyId, liveOnly, limit, cancellationToken);
}
