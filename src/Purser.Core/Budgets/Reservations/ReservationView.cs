using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>
/// A reservation as callers see it: its amount, what was spent (its own draws and its children's), what its draws in
/// flight hold, what remains to draw or split, and its children.
/// </summary>
public sealed record ReservationView(
    string Id,
    string RootId,
    string? ParentId,
    string KeyId,
    string? Label,
    int Depth,
    Money Amount,
    Money Spent,
    Money Held,
    Money Remaining,
    ReservationState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    string Path,
    IReadOnlyList<ReservationView> Children);
