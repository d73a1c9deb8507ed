using System.Collections.Concurrent;
using System.Globalization;
using Purser.Admin;
using Purser.Budgets;
using Purser.Gateway.Errors;
using Purser.Keys;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Task scopes, the agent-swarm ceiling. A task id lives inside its owner, the calling key's team (or the key itself
/// when it has no team), so two tenants naming <c>swarm-1</c> get two tasks; every key of the owner shares the one
/// ceiling, from any process or instance. A task is created by the first call that names it with
/// <c>x-budget-ceiling</c> and is admitted (<see cref="BudgetAdmission"/> creates it only after the hold was granted,
/// so a refused call creates nothing); a later call whose ceiling differs from the task's is a 409, never ignored;
/// a key has at most <c>server.max_open_tasks_per_key</c> open tasks. Lookups are a primary-key probe in the store,
/// then cached here; the store decides which creation wins, so racing instances agree on one ceiling.
/// </summary>
internal sealed class TaskBudgets
{
    private readonly ITaskScopeStore _store;
    private readonly ConcurrentDictionary<string, BudgetDefinition> _known = new(StringComparer.Ordinal);

    public TaskBudgets(ITaskScopeStore store)
    {
        _store = store;
    }

    /// <summary>The tenant a key's tasks live in: "team:&lt;team&gt;", or "key:&lt;id&gt;" for a key without a team.</summary>
    public static string OwnerOf(VirtualKey key) => key.Team is { } team ? "team:" + team : "key:" + key.Id;

    /// <summary>The task's budget id: "task:" + owner + ":" + task id (unique per owner; the scope shown to callers is "task:&lt;task id&gt;").</summary>
    public static string BudgetIdOf(VirtualKey key, string taskId) => "task:" + OwnerOf(key) + ":" + taskId;

    /// <summary>
    /// The task's budget for this key. An existing task is returned as is (a differing <paramref name="ceiling"/> is a
    /// 409); a missing one with a ceiling comes back as a definition still to be created (<c>IsNew</c>) once the call
    /// is admitted; a missing one without a ceiling is null.
    /// </summary>
    public async ValueTask<(BudgetDefinition? Budget, bool IsNew, GatewayError? Error)> ResolveAsync(VirtualKey key, string taskId, Money? ceiling, CancellationToken cancellationToken)
    {
        var id = BudgetIdOf(key, taskId);
        var stored = await FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            return ceiling is { } asked && stored.CapUsd != asked ? (null, false, Conflict(taskId, stored, asked)) : (stored, false, null);
        }

        if (ceiling is not { } cap)
        {
            return (null, false, null);
        }

        var budget = new BudgetDefinition
        {
            Id = id,
            Scope = new ScopeRef(ScopeKind.Task, taskId),
            Window = BudgetWindowKind.Lifetime,
            CapUsd = cap,
            Enforcement = Enforcement.Hard,
            Mode = AccountingMode.Reserve,
        };
        return (budget, true, null);
    }

    /// <summary>
    /// Stores a task that <see cref="ResolveAsync"/> returned as new, now that its first call was admitted. Null when
    /// it exists now with the same ceiling (created here or by a concurrent call); else the 409 or the open-task limit.
    /// </summary>
    public async ValueTask<GatewayError?> CreateAsync(BudgetDefinition budget, VirtualKey key, int maxOpenPerKey, CancellationToken cancellationToken)
    {
        var created = await _store.TryCreateAsync(budget, key.Id, maxOpenPerKey, cancellationToken).ConfigureAwait(false);
        switch (created)
        {
            case TaskCreation.Created:
                _known[budget.Id] = budget;
                return null;

            case TaskCreation.LimitReached:
                return new GatewayError(
                    GatewayErrorCode.OpenTaskLimitReached,
                    string.Create(CultureInfo.InvariantCulture, $"This key has {maxOpenPerKey} open task scopes, the most it may have (server.max_open_tasks_per_key): reuse a task id, or have an operator delete finished task budgets."),
                    BudgetRequestHeaders.ScopeHeader);

            default:
                // A concurrent first call won: this call joins its task only if it asked for the same ceiling.
                var winner = await FindAsync(budget.Id, cancellationToken).ConfigureAwait(false);
                if (winner is null || winner.CapUsd == budget.CapUsd)
                {
                    return null;
                }

                return Conflict(budget.Scope.Id, winner, budget.CapUsd ?? Money.Zero);
        }
    }

    /// <summary>Forgets cached task budgets so an admin change is seen.</summary>
    public void Invalidate(string budgetId) => _known.TryRemove(budgetId, out _);

    private async ValueTask<BudgetDefinition?> FindAsync(string id, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(id, out var known))
        {
            return known;
        }

        var stored = await _store.FindAsync(id, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            _known[id] = stored;
        }

        return stored;
    }

    private static GatewayError Conflict(string taskId, BudgetDefinition existing, Money asked) =>
        new(
            GatewayErrorCode.TaskCeilingConflict,
            $"The task scope '{taskId}' exists with a ceiling of ${existing.CapUsd}; this call asked for ${asked}. Send the same ceiling, omit {BudgetRequestHeaders.CeilingHeader}, or name another task.",
            BudgetRequestHeaders.CeilingHeader);
}
