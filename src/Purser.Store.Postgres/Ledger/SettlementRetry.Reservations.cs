using Purser.Budgets;
using Purser.Budgets.Reservations;

namespace Purser.Store.Postgres.Ledger;

/// <summary>Reservation operations pass straight through; draws are settled through <see cref="SettleAsync"/>, so a failed draw settlement is retried like any other.</summary>
public sealed partial class SettlementRetry : IReservationLedger
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
