namespace Purser.Budgets;

/// <summary>A request's worst case, drawn in memory on this instance's slice of a reservation.</summary>
internal sealed class LocalDraw(ReservationSlice slice, long amount, long tokens, DateTimeOffset expiresAt)
{
    public ReservationSlice Slice { get; } = slice;

    public long Amount { get; } = amount;

    public long Tokens { get; } = tokens;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    public LocalHoldState State { get; set; }

    public DateTimeOffset SettledAt { get; set; }
}
