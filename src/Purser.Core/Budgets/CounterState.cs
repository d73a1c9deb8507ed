using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>What a counter holds: settled spend and outstanding holds, in money and in tokens.</summary>
public readonly record struct CounterState(Money Spent, Money Held, long SpentTokens, long HeldTokens)
{
    public static readonly CounterState Empty = new(Money.Zero, Money.Zero, 0, 0);
}
