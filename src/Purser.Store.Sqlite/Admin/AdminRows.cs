using System.Data.Common;
using Purser.Admin;
using Purser.Budgets;

namespace Purser.Store.Sqlite.Admin;

/// <summary>
/// The admin rows (keys, budgets, composed aliases) as both stores select and read them: the column lists and one
/// reader each over <see cref="DbDataReader"/>, compiled into the SQLite and the PostgreSQL store alike (as
/// <see cref="AdminColumns"/> is), so only each dialect's statements and parameters differ. A column list's order is
/// the ordinal contract of its reader.
/// </summary>
internal static class AdminRows
{
    public const string KeyColumns = "id, hash, team, allowed_models, expires_at, created_at, revoked_at, trust_end_user, trust_tags";

    /// <summary>The budget columns an admin read selects (<see cref="AdminColumns.ReadBudget"/>'s full order).</summary>
    public const string BudgetColumns = TaskBudgetColumns + ", under_scope, model, degrade_throttle_rpm";

    /// <summary>The budget columns a task-scope read selects: up to the degrade columns.</summary>
    public const string TaskBudgetColumns =
        "id, scope, window_kind, time_zone, cap_nano, cap_tokens, enforcement, mode, alert_thresholds, "
        + "degrade_fallback_model, degrade_min_max_tokens";

    public const string AliasColumns = "alias, kind, definition, updated_at";

    /// <summary>Keys in the order of <see cref="KeyColumns"/>.</summary>
    public static async Task<IReadOnlyList<StoredKey>> ReadKeysAsync(DbDataReader reader, CancellationToken ct)
    {
        var keys = new List<StoredKey>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            keys.Add(new StoredKey(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                AdminColumns.ParseModels(reader.GetString(3)),
                reader.IsDBNull(4) ? null : AdminColumns.FromUnixMs(reader.GetInt64(4)),
                AdminColumns.FromUnixMs(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : AdminColumns.FromUnixMs(reader.GetInt64(6)))
            {
                TrustEndUser = reader.GetBoolean(7),
                TrustTags = reader.GetBoolean(8),
            });
        }

        return keys;
    }

    /// <summary>Budgets in the order of <see cref="BudgetColumns"/>.</summary>
    public static async Task<IReadOnlyList<BudgetDefinition>> ReadBudgetsAsync(DbDataReader reader, CancellationToken ct)
    {
        var budgets = new List<BudgetDefinition>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            budgets.Add(AdminColumns.ReadBudget(reader));
        }

        return budgets;
    }

    /// <summary>Composed aliases in the order of <see cref="AliasColumns"/>.</summary>
    public static async Task<IReadOnlyList<StoredAlias>> ReadAliasesAsync(DbDataReader reader, CancellationToken ct)
    {
        var aliases = new List<StoredAlias>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            aliases.Add(new StoredAlias(reader.GetString(0), AdminColumns.ParseAliasKind(reader.GetString(1)), reader.GetString(2), AdminColumns.FromUnixMs(reader.GetInt64(3))));
        }

        return aliases;
    }
}
