using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>A draw's result: <see cref="ReservationStatus.Done"/> with what remains of the reservation after the hold, or why not (with what remains).</summary>
public readonly record struct DrawOutcome(ReservationStatus Status, Money Remaining);
