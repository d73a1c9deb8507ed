using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>The tightest USD window on a request's path: the least remaining, after this request's hold or charge.</summary>
internal readonly record struct BudgetStanding(bool HasUsdCap, Money Remaining, Money Limit, string Scope, string Window, DateTimeOffset? ResetsAt)
{
    public static readonly BudgetStanding None = new(false, Money.Zero, Money.Zero, "", "", null);
}
