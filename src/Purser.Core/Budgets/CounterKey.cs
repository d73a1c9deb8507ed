namespace Purser.Budgets;

/// <summary>
/// A counter's identity: a budget and one window instance of it ("2026-11-24", "2026-11", "lifetime"). Because the
/// window is part of the identity, a new window starts a fresh counter at the boundary with no reset job.
/// </summary>
public readonly record struct CounterKey(string BudgetId, string WindowKey)
{
    public override string ToString() => BudgetId + "@" + WindowKey;
}
