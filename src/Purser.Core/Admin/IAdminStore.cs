using Purser.Budgets;

namespace Purser.Admin;

/// <summary>
/// Durable keys, budgets, routing and ensemble aliases managed at run time (admin API, task budgets from <c>x-budget-ceiling</c>), shared by
/// every gateway instance on the same database. Expected outcomes (duplicates, absent ids) are <c>false</c>, not
/// exceptions.
/// </summary>
public interface IAdminStore
{
    /// <summary>Adds the key; false, and nothing written, when its id or its hash already exists (revoked keys included).</summary>
    Task<bool> TryCreateKeyAsync(StoredKey key, CancellationToken ct);

    /// <summary>Every stored key, revoked ones included, ordered by id.</summary>
    Task<IReadOnlyList<StoredKey>> ListKeysAsync(CancellationToken ct);

    /// <summary>Replaces the key with the same id; false when there is none (or the new hash belongs to another key).</summary>
    Task<bool> UpdateKeyAsync(StoredKey key, CancellationToken ct);

    /// <summary>Marks the key revoked at <paramref name="at"/>; false when it is absent or already revoked.</summary>
    Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken ct);

    /// <summary>Creates the budget or replaces the one with the same id.</summary>
    Task UpsertBudgetAsync(BudgetDefinition budget, CancellationToken ct);

    /// <summary>
    /// Insert-if-absent, atomic across processes: when two gateways race to create the same task budget, exactly one
    /// gets true and the stored definition is the winner's.
    /// </summary>
    Task<bool> TryCreateBudgetAsync(BudgetDefinition budget, CancellationToken ct);

    /// <summary>Every stored budget, ordered by id.</summary>
    Task<IReadOnlyList<BudgetDefinition>> ListBudgetsAsync(CancellationToken ct);

    /// <summary>Removes the budget; false when there was none.</summary>
    Task<bool> DeleteBudgetAsync(string id, CancellationToken ct);

    /// <summary>Creates the routing or ensemble alias or replaces the one with the same alias.</summary>
    Task UpsertAliasAsync(StoredAlias alias, CancellationToken ct);

    /// <summary>Every stored routing and ensemble alias, ordered by alias.</summary>
    Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(CancellationToken ct);

    /// <summary>Removes the alias of that kind; false when there was none.</summary>
    Task<bool> DeleteAliasAsync(AliasKind kind, string alias, CancellationToken ct);
}
