namespace Purser.Budgets.Reservations;

/// <summary>
/// What a reservation operation does to its root's lines: add <see cref="Spent"/> and <see cref="SpentTokens"/> to spent
/// on every line, and take <see cref="Release"/> off held on the Reserve-mode lines (negative adds).
/// </summary>
public readonly record struct CounterDelta(long Spent, long SpentTokens, long Release)
{
    public bool IsZero => Spent == 0 && SpentTokens == 0 && Release == 0;
}
