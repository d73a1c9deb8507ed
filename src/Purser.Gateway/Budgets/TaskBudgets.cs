using System.Collections.Concurrent;
using Purser.Admin;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Task scopes, the agent-swarm ceiling: created by the first call that names a task with <c>x-budget-ceiling</c>,
/// then shared by every later call with that task id, from any key, process or gateway instance. The store decides
/// which creation wins (insert-if-absent), so two instances racing on the first call agree on one ceiling.
/// </summary>
internal sealed class TaskBudgets
{
    private readonly IAdminStore _store;
    private readonly ConcurrentDictionary<string, BudgetDefinition> _known = new(StringComparer.Ordinal);

    public TaskBudgets(IAdminStore store)
    {
        _store = store;
    }

    public static string BudgetIdOf(string taskId) => "task:" + taskId;

    /// <summary>The task's budget, creating it with <paramref name="ceiling"/> on first use; null when it does not exist and no ceiling was given.</summary>
    public async ValueTask<BudgetDefinition?> ResolveAsync(string taskId, Money? ceiling, CancellationToken cancellationToken)
    {
        var id = BudgetIdOf(taskId);
        if (_known.TryGetValue(id, out var known))
        {
            return known;
        }

        var stored = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is null && ceiling is { } cap)
        {
            await _store.TryCreateBudgetAsync(
                new BudgetDefinition
                {
                    Id = id,
                    Scope = new ScopeRef(ScopeKind.Task, taskId),
                    Window = BudgetWindowKind.Lifetime,
                    CapUsd = cap,
                    Enforcement = Enforcement.Hard,
                    Mode = AccountingMode.Reserve,
                },
                cancellationToken).ConfigureAwait(false);
            stored = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        }

        if (stored is not null)
        {
            _known[id] = stored;
        }

        return stored;
    }

    /// <summary>Forgets cached task budgets so an admin change is seen.</summary>
    public void Invalidate(string budgetId) => _known.TryRemove(budgetId, out _);

    private async Task<BudgetDefinition?> FindAsync(string id, CancellationToken cancellationToken)
    {
        foreach (var budget in await _store.ListBudgetsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (budget.Id == id)
            {
                return budget;
            }
        }

        return null;
    }
}
