using Purser.Budgets;

namespace Purser.Admin;

/// <summary>
/// Task scopes (the agent-swarm ceilings) in the shared store: looked up by budget id with one index probe, and created
/// atomically with the creating key's cap on open tasks. A task's budget row is an ordinary budget (the admin API lists,
/// edits and deletes it); deleting it closes the task, which then no longer counts against its creator.
/// </summary>
public interface ITaskScopeStore
{
    /// <summary>The budget with this id, or null: a primary-key probe, never a scan.</summary>
    Task<BudgetDefinition?> FindAsync(string budgetId, CancellationToken ct);

    /// <summary>
    /// Creates the task budget unless it exists (<see cref="TaskCreation.Exists"/>, whatever its ceiling) or
    /// <paramref name="createdBy"/> already has <paramref name="maxOpenPerKey"/> open tasks
    /// (<see cref="TaskCreation.LimitReached"/>). One transaction, so instances racing on the same id agree on one
    /// winner and a key racing with itself cannot pass its cap.
    /// </summary>
    Task<TaskCreation> TryCreateAsync(BudgetDefinition budget, string createdBy, int maxOpenPerKey, CancellationToken ct);
}
