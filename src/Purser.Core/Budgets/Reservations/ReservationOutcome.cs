using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>
/// The result of creating a reservation: <see cref="ReservationStatus.Done"/> with the new reservation, or why not.
/// A root that does not fit the budgets carries the ledger's denial in <see cref="Hold"/>; a child that does not fit
/// carries its parent's remainder in <see cref="Available"/>.
/// </summary>
public readonly record struct ReservationOutcome(ReservationStatus Status, ReservationView? Reservation, HoldOutcome? Hold, Money Available)
{
    public static ReservationOutcome Of(ReservationStatus status, Money available = default) => new(status, null, null, available);
}
