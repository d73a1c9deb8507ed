using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>
/// Reserve <see cref="Amount"/> until <see cref="ExpiresAt"/>: out of the budgets of <see cref="Lines"/> (a root, no
/// <see cref="ParentId"/>), or out of the parent's remainder (a child; <see cref="Lines"/> are ignored and its expiry
/// is capped at the parent's).
/// </summary>
public sealed record ReservationRequest(
    string Id,
    string KeyId,
    string? Label,
    string? ParentId,
    Money Amount,
    IReadOnlyList<HoldLine> Lines,
    string Path,
    DateTimeOffset Now,
    DateTimeOffset ExpiresAt,
    ReservationLimits Limits);
