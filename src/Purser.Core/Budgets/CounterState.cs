using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>What a counter holds: settled spend and outstanding holds, in money and in tokens.</summary>
public readonly record struct CounterState(Money Spent, Money Held, long SpentTokens, long HeldTokens)
{
    public static readonly CounterState Empty = new(Money.Zero, Money.Zero, 0, 0);

    /// <summary>Two counters' sums (a rolling window's buckets added up).</summary>
    public static CounterState operator +(CounterState a, CounterState b) =>
        new(a.Spent + b.Spent, a.Held + b.Held, checked(a.SpentTokens + b.SpentTokens), checked(a.HeldTokens + b.HeldTokens));
}
