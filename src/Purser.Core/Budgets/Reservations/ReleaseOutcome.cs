namespace Purser.Budgets.Reservations;

/// <summary>What a release or an expiry pass ended: each reservation it ended (children before their parent), as it stood when it ended.</summary>
public readonly record struct ReleaseOutcome(ReservationStatus Status, IReadOnlyList<ReservationView> Ended);
