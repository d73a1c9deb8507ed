namespace Purser.Budgets.Reservations;

/// <summary>How large a reservation tree may grow: depth counts from the root (depth 0), nodes count every reservation ever made in it.</summary>
public readonly record struct ReservationLimits(int MaxDepth, int MaxNodes)
{
    public static readonly ReservationLimits Default = new(4, 64);
}
