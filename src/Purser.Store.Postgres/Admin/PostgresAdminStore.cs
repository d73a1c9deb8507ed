using Npgsql;
using Purser.Admin;
using Purser.Budgets;
using Purser.Keys;
using Purser.Pricing;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Postgres.Admin;

/// <summary>
/// Admin-managed keys and budgets in the shared PostgreSQL database, with the SQLite store's behaviour and text forms:
/// every write is one statement, so it is atomic across instances (two instances creating the same task budget agree
/// on one winner). An outage surfaces as <see cref="LedgerUnavailableException"/>.
/// </summary>
public sealed class PostgresAdminStore : IAdminStore
{
    private const string InsertBudget =
        "INSERT INTO budgets (" + AdminRows.BudgetColumns + ", created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $14, $15, $12, $12)";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    public PostgresAdminStore(PostgresDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _dataSource = db.DataSource;
        _time = time;
    }

    public Task<bool> TryCreateKeyAsync(StoredKey key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);

        // DO NOTHING without a target covers both the id and the hash uniqueness constraints.
        return ExecuteAsync(
            $"INSERT INTO admin_keys ({AdminRows.KeyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            command => AddKeyParameters(command, key),
            ct);
    }

    public Task<IReadOnlyList<StoredKey>> ListKeysAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand($"SELECT {AdminRows.KeyColumns} FROM admin_keys ORDER BY id COLLATE \"C\"");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadKeysAsync(reader, ct).ConfigureAwait(false);
    });

    public async Task<bool> UpdateKeyAsync(StoredKey key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            return await ExecuteAsync(
                "UPDATE admin_keys SET hash = $2, team = $3, allowed_models = $4, expires_at = $5, created_at = $6, revoked_at = $7, trust_end_user = $8, trust_tags = $9 WHERE id = $1",
                command => AddKeyParameters(command, key),
                ct).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // The new hash is another key's: as SQLite's UPDATE OR IGNORE, nothing changed.
            return false;
        }
    }

    public Task<bool> RevokeKeyAsync(string id, DateTimeOffset at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);
        return ExecuteAsync(
            "UPDATE admin_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            command =>
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdminColumns.ToUnixMs(at) });
            },
            ct);
    }

    public async Task UpsertBudgetAsync(BudgetDefinition budget, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        await ExecuteAsync(
            InsertBudget
            + " ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, window_kind = excluded.window_kind, "
            + "time_zone = excluded.time_zone, cap_nano = excluded.cap_nano, cap_tokens = excluded.cap_tokens, "
            + "enforcement = excluded.enforcement, mode = excluded.mode, alert_thresholds = excluded.alert_thresholds, "
            + "degrade_fallback_model = excluded.degrade_fallback_model, "
            + "degrade_min_max_tokens = excluded.degrade_min_max_tokens, under_scope = excluded.under_scope, "
            + "model = excluded.model, degrade_throttle_rpm = excluded.degrade_throttle_rpm, updated_at = excluded.updated_at",
            command => AddBudgetParameters(command, budget),
            ct).ConfigureAwait(false);
    }

    public Task<bool> TryCreateBudgetAsync(BudgetDefinition budget, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        return ExecuteAsync(InsertBudget + " ON CONFLICT (id) DO NOTHING", command => AddBudgetParameters(command, budget), ct);
    }

    public Task<IReadOnlyList<BudgetDefinition>> ListBudgetsAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand($"SELECT {AdminRows.BudgetColumns} FROM budgets ORDER BY id COLLATE \"C\"");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadBudgetsAsync(reader, ct).ConfigureAwait(false);
    });

    public Task<bool> DeleteBudgetAsync(string id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);
        return ExecuteAsync(
            "DELETE FROM budgets WHERE id = $1",
            command => command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id }),
            ct);
    }

    private static void AddKeyParameters(NpgsqlCommand command, StoredKey key)
    {
        // A malformed hash would make every later key ring build throw, so it is refused at the door.
        if (!KeyHashFormat.IsValid(key.Hash))
        {
            throw new ArgumentException($"Key '{key.Id}' has a malformed hash; expected 'sha256:' and 64 lowercase hex digits.", nameof(key));
        }

        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Hash });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = key.Team });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.ModelsText(key.AllowedModels) });
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = key.ExpiresAt?.ToUnixTimeMilliseconds() });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdminColumns.ToUnixMs(key.CreatedAt) });
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = key.RevokedAt?.ToUnixTimeMilliseconds() });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = key.TrustEndUser });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = key.TrustTags });
    }

    private void AddBudgetParameters(NpgsqlCommand command, BudgetDefinition budget)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.Scope.ToString() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.WindowText(budget.Window) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.TimeZone });
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = budget.CapUsd?.NanoUsd });
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = budget.CapTokens });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.EnforcementText(budget.Enforcement) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.ModeText(budget.Mode) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.ThresholdsText(budget.AlertThresholds) });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = budget.Degrade?.FallbackModel });
        command.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = budget.Degrade?.MinMaxTokens });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdminColumns.ToUnixMs(_time.GetUtcNow()) });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = budget.Under?.ToString() });
        command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = budget.Model });
        command.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = budget.Degrade?.ThrottleRpm });
    }

    public Task UpsertAliasAsync(StoredAlias alias, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(alias);
        return ExecuteAsync(
            "INSERT INTO composed_aliases (alias, kind, definition, updated_at) VALUES ($1, $2, $3, $4) "
            + "ON CONFLICT (alias) DO UPDATE SET kind = excluded.kind, definition = excluded.definition, updated_at = excluded.updated_at",
            command =>
            {
                command.Parameters.AddWithValue(alias.Alias);
                command.Parameters.AddWithValue(AdminColumns.AliasKindText(alias.Kind));
                command.Parameters.AddWithValue(alias.Definition);
                command.Parameters.AddWithValue(AdminColumns.ToUnixMs(alias.UpdatedAt));
            },
            ct);
    }

    public Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand($"SELECT {AdminRows.AliasColumns} FROM composed_aliases ORDER BY alias");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await AdminRows.ReadAliasesAsync(reader, ct).ConfigureAwait(false);
    });

    public Task<bool> DeleteAliasAsync(AliasKind kind, string alias, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(alias);
        return ExecuteAsync(
            "DELETE FROM composed_aliases WHERE alias = $1 AND kind = $2",
            command =>
            {
                command.Parameters.AddWithValue(alias);
                command.Parameters.AddWithValue(AdminColumns.AliasKindText(kind));
            },
            ct);
    }

    /// <summary>One statement; true when it changed exactly one row.</summary>
    private Task<bool> ExecuteAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand(sql);
        bind(command);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    });
}
