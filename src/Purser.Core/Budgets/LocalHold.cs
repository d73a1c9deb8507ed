namespace Purser.Budgets;

/// <summary>A request's worst case, drawn on the leases of all its lines at once (<see cref="Slots"/>, locked in <see cref="Order"/>).</summary>
internal sealed class LocalHold(LeaseSlot[] slots, int[] order, long amount, long tokens, DateTimeOffset expiresAt)
{
    public LeaseSlot[] Slots { get; } = slots;

    public int[] Order { get; } = order;

    public long Amount { get; } = amount;

    public long Tokens { get; } = tokens;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    public LocalHoldState State { get; set; }

    public DateTimeOffset SettledAt { get; set; }
}
