namespace Purser.Budgets.Reservations;

/// <summary>
/// One reservation of a tree, as the ledger stores it. <see cref="Spent"/> rolls up: it is what this reservation's
/// draws and every descendant's draws were charged. <see cref="Held"/> is the worst case of this reservation's own
/// draws still in flight. Amounts are nano-dollars.
/// </summary>
public sealed class ReservationNode
{
    public required string Id { get; init; }

    public string? ParentId { get; init; }

    public required string KeyId { get; init; }

    public string? Label { get; init; }

    public int Depth { get; init; }

    public long Amount { get; init; }

    public long Spent { get; set; }

    public long Held { get; set; }

    public ReservationState State { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>The budget path the tree holds against, "org:acme@2026-11-24,key:a@2026-11-24" (the root's).</summary>
    public string Path { get; init; } = "";
}
