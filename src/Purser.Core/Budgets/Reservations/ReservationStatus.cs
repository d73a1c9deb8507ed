namespace Purser.Budgets.Reservations;

/// <summary>What a reservation operation did, as a value.</summary>
public enum ReservationStatus
{
    Done = 0,

    /// <summary>The budgets (a root) or the parent's remainder (a child) cannot take the amount.</summary>
    DoesNotFit = 1,

    /// <summary>A draw's worst case does not fit the reservation's remainder.</summary>
    Exhausted = 2,

    /// <summary>No such reservation for this key (another key's reservation reads the same).</summary>
    Unknown = 3,

    /// <summary>The reservation was released or expired.</summary>
    NotLive = 4,

    /// <summary>The tree would exceed its depth or size limit.</summary>
    TooLarge = 5,
}
