using Purser.Budgets;

namespace Purser.Gateway.AdminServices;

/// <summary>A budget with where it is defined ("config" or "api"), its current window and that window's counter.</summary>
internal sealed record BudgetView(BudgetDefinition Budget, string Source, WindowInstance Window, CounterState State);
