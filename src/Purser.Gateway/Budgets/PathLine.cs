using Purser.Budgets;

namespace Purser.Gateway.Budgets;

/// <summary>
/// One budget on a request's path, in the window instance current when the request arrived. <paramref name="CreateFor"/>
/// is set on a task scope not stored yet: the admission creates it, owned by that key, once the hold is granted.
/// </summary>
internal sealed record PathLine(BudgetDefinition Budget, WindowInstance Window, Keys.VirtualKey? CreateFor = null)
{
    public HoldLine ToHoldLine() => new(new CounterKey(Budget.Id, Window.Key), Budget.CapUsd, Budget.CapTokens, Budget.Mode, Budget.Enforcement);
}
