using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// Reserve <see cref="Amount"/> (the request's worst-case cost) and <see cref="Tokens"/> (its worst-case tokens) on every
/// line at once, or on none. A hold not settled by <see cref="ExpiresAt"/> is charged in full.
/// </summary>
public sealed record HoldRequest(string HoldId, IReadOnlyList<HoldLine> Lines, Money Amount, long Tokens, DateTimeOffset ExpiresAt);
