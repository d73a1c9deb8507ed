using Purser.Budgets;

namespace Purser.Gateway.Budgets;

/// <summary>One budget on a request's path, in the window instance current when the request arrived.</summary>
internal sealed record PathLine(BudgetDefinition Budget, WindowInstance Window)
{
    public HoldLine ToHoldLine() => new(new CounterKey(Budget.Id, Window.Key), Budget.CapUsd, Budget.CapTokens, Budget.Mode, Budget.Enforcement);
}
