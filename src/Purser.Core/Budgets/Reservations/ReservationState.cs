namespace Purser.Budgets.Reservations;

/// <summary>Where a reservation is in its life. Only a live one can be drawn on or split.</summary>
public enum ReservationState
{
    Live = 0,
    Released = 1,
    Expired = 2,
}
