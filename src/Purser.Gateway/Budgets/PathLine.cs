using Purser.Budgets;

namespace Purser.Gateway.Budgets;

/// <summary>
/// One budget on a request's path, in the window instance current when the request arrived. <paramref name="CreateFor"/>
/// is set on a task scope not stored yet: the admission creates it, owned by that key, once the hold is granted.
/// <paramref name="EndUser"/> is set on a <c>user:*</c> budget's line: the end user whose own counter is charged.
/// </summary>
internal sealed record PathLine(BudgetDefinition Budget, WindowInstance Window, Keys.VirtualKey? CreateFor = null, string? EndUser = null)
{
    /// <summary>A rolling window's earlier buckets (<see cref="RollingWindows"/>); empty for a calendar window.</summary>
    public CounterState Past { get; init; } = CounterState.Empty;

    /// <summary>The counter's budget id: the budget's, or "budget-id/end-user" for one end user of a <c>user:*</c> budget.</summary>
    public string CounterId => EndUser is { } user ? EndUserCounters.CounterId(Budget.Id, user) : Budget.Id;

    /// <summary>The scope as callers and events see it: "user:alice" for one end user, else the budget's scope.</summary>
    public string ScopeText => EndUser is { } user ? ScopeRef.Prefix(ScopeKind.EndUser) + user : Budget.Scope.ToString();

    public HoldLine ToHoldLine()
    {
        var (capUsd, capTokens) = RollingWindows.BucketCaps(Budget, Past);
        return new(new CounterKey(CounterId, Window.Key), capUsd, capTokens, Budget.Mode, Budget.Enforcement);
    }

    /// <summary>The whole window's state: the current bucket's (or calendar window's) counter and the earlier buckets.</summary>
    public CounterState Whole(CounterState current) => current + Past;
}
