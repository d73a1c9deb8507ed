using Microsoft.Data.Sqlite;
using Purser.Admin;
using Purser.Budgets;
using Purser.Keys;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Admin;

/// <summary>
/// Admin-managed keys, budgets and routing/ensemble aliases in the Purser database. Every write is one statement, so it is atomic on its own and
/// safe when several gateway instances share the file. Timestamps are kept to the millisecond, in UTC.
/// </summary>
public sealed class SqliteAdminStore : IAdminStore
{
    private const string BudgetValues =
        "$id, $scope, $window_kind, $time_zone, $cap_nano, $cap_tokens, $enforcement, $mode, $alert_thresholds, "
        + "$degrade_fallback_model, $degrade_min_max_tokens, $under_scope, $model, $degrade_throttle_rpm, $now, $now";

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;

    public SqliteAdminStore(SqliteDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _time = time;
    }

    public async Task<bool> TryCreateKeyAsync(StoredKey key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();

        // DO NOTHING covers both the id and the hash uniqueness constraints; NOT NULL violations still throw (bugs).
        command.CommandText = $"INSERT INTO admin_keys ({AdminRows.KeyColumns}) VALUES ($id, $hash, $team, $allowed_models, $expires_at, $created_at, $revoked_at, $trust_end_user, $trust_tags) ON CONFLICT DO NOTHING;";
        AddKeyParameters(command, key);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<StoredKey>> ListKeysAsync(CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AdminRows.KeyColumns} FROM admin_keys ORDER BY id;";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadKeysAsync(reader, ct).ConfigureAwait(false);
    }

    public async Task<bool> UpdateKeyAsync(StoredKey key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();

        // OR IGNORE turns "the new hash is another key's" into zero rows changed instead of an exception.
        command.CommandText =
            "UPDATE OR IGNORE admin_keys SET hash = $hash, team = $team, allowed_models = $allowed_models, "
            + "expires_at = $expires_at, created_at = $created_at, revoked_at = $revoked_at, "
            + "trust_end_user = $trust_end_user, trust_tags = $trust_tags WHERE id = $id;";
        AddKeyParameters(command, key);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE admin_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$at", AdminColumns.ToUnixMs(at));
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task UpsertBudgetAsync(BudgetDefinition budget, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText =
            $"INSERT INTO budgets ({AdminRows.BudgetColumns}, created_at, updated_at) VALUES ({BudgetValues}) "
            + "ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, window_kind = excluded.window_kind, "
            + "time_zone = excluded.time_zone, cap_nano = excluded.cap_nano, cap_tokens = excluded.cap_tokens, "
            + "enforcement = excluded.enforcement, mode = excluded.mode, alert_thresholds = excluded.alert_thresholds, "
            + "degrade_fallback_model = excluded.degrade_fallback_model, "
            + "degrade_min_max_tokens = excluded.degrade_min_max_tokens, under_scope = excluded.under_scope, "
            + "model = excluded.model, degrade_throttle_rpm = excluded.degrade_throttle_rpm, updated_at = excluded.updated_at;";
        AddBudgetParameters(command, budget);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> TryCreateBudgetAsync(BudgetDefinition budget, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO budgets ({AdminRows.BudgetColumns}, created_at, updated_at) VALUES ({BudgetValues}) ON CONFLICT (id) DO NOTHING;";
        AddBudgetParameters(command, budget);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<IReadOnlyList<BudgetDefinition>> ListBudgetsAsync(CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AdminRows.BudgetColumns} FROM budgets ORDER BY id;";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadBudgetsAsync(reader, ct).ConfigureAwait(false);
    }

    public async Task<bool> DeleteBudgetAsync(string id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM budgets WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task UpsertAliasAsync(StoredAlias alias, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(alias);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText =
            "INSERT INTO composed_aliases (alias, kind, definition, updated_at) VALUES ($alias, $kind, $definition, $updated_at) "
            + "ON CONFLICT (alias) DO UPDATE SET kind = excluded.kind, definition = excluded.definition, updated_at = excluded.updated_at;";
        command.Parameters.AddWithValue("$alias", alias.Alias);
        command.Parameters.AddWithValue("$kind", AdminColumns.AliasKindText(alias.Kind));
        command.Parameters.AddWithValue("$definition", alias.Definition);
        command.Parameters.AddWithValue("$updated_at", AdminColumns.ToUnixMs(alias.UpdatedAt));
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AdminRows.AliasColumns} FROM composed_aliases ORDER BY alias;";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadAliasesAsync(reader, ct).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAliasAsync(AliasKind kind, string alias, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(alias);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM composed_aliases WHERE alias = $alias AND kind = $kind;";
        command.Parameters.AddWithValue("$alias", alias);
        command.Parameters.AddWithValue("$kind", AdminColumns.AliasKindText(kind));
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    private static void AddKeyParameters(SqliteCommand command, StoredKey key)
    {
        // A malformed hash would make every later key ring build throw, so it is refused at the door.
        if (!KeyHashFormat.IsValid(key.Hash))
        {
            throw new ArgumentException($"Key '{key.Id}' has a malformed hash; expected 'sha256:' and 64 lowercase hex digits.", nameof(key));
        }

        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$hash", key.Hash);
        command.Parameters.AddWithValue("$team", AdminColumns.ToDb(key.Team));
        command.Parameters.AddWithValue("$allowed_models", AdminColumns.ModelsText(key.AllowedModels));
        command.Parameters.AddWithValue("$expires_at", AdminColumns.ToDb(key.ExpiresAt));
        command.Parameters.AddWithValue("$created_at", AdminColumns.ToUnixMs(key.CreatedAt));
        command.Parameters.AddWithValue("$revoked_at", AdminColumns.ToDb(key.RevokedAt));
        command.Parameters.AddWithValue("$trust_end_user", key.TrustEndUser ? 1L : 0L);
        command.Parameters.AddWithValue("$trust_tags", key.TrustTags ? 1L : 0L);
    }

    private void AddBudgetParameters(SqliteCommand command, BudgetDefinition budget)
    {
        command.Parameters.AddWithValue("$id", budget.Id);
        command.Parameters.AddWithValue("$scope", budget.Scope.ToString());
        command.Parameters.AddWithValue("$window_kind", AdminColumns.WindowText(budget.Window));
        command.Parameters.AddWithValue("$time_zone", budget.TimeZone);
        command.Parameters.AddWithValue("$cap_nano", AdminColumns.ToDb(budget.CapUsd?.NanoUsd));
        command.Parameters.AddWithValue("$cap_tokens", AdminColumns.ToDb(budget.CapTokens));
        command.Parameters.AddWithValue("$enforcement", AdminColumns.EnforcementText(budget.Enforcement));
        command.Parameters.AddWithValue("$mode", AdminColumns.ModeText(budget.Mode));
        command.Parameters.AddWithValue("$alert_thresholds", AdminColumns.ThresholdsText(budget.AlertThresholds));
        command.Parameters.AddWithValue("$degrade_fallback_model", AdminColumns.ToDb(budget.Degrade?.FallbackModel));
        command.Parameters.AddWithValue("$degrade_min_max_tokens", AdminColumns.ToDb(budget.Degrade?.MinMaxTokens));
        command.Parameters.AddWithValue("$under_scope", AdminColumns.ToDb(budget.Under?.ToString()));
        command.Parameters.AddWithValue("$model", AdminColumns.ToDb(budget.Model));
        command.Parameters.AddWithValue("$degrade_throttle_rpm", AdminColumns.ToDb(budget.Degrade?.ThrottleRpm));
        command.Parameters.AddWithValue("$now", AdminColumns.ToUnixMs(_time.GetUtcNow()));
    }
}
