using Npgsql;
using Purser.Admin;
using Purser.Budgets;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Postgres.Admin;

/// <summary>
/// Task scopes in the shared PostgreSQL database, with the SQLite store's rules: a lookup is a primary-key probe, and a
/// creation is one transaction that first takes a transaction-scoped advisory lock on the creating key (so that key's
/// concurrent creations, on any instance, are counted one after another and cannot pass its cap), then inserts with
/// <c>ON CONFLICT DO NOTHING</c> (instances racing on one id agree on one winner). An outage surfaces as
/// <see cref="LedgerUnavailableException"/>.
/// </summary>
public sealed class PostgresTaskScopeStore : ITaskScopeStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    public PostgresTaskScopeStore(PostgresDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _dataSource = db.DataSource;
        _time = time;
    }

    public Task<BudgetDefinition?> FindAsync(string budgetId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budgetId);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand($"SELECT {AdminRows.TaskBudgetColumns} FROM budgets WHERE id = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budgetId });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? AdminColumns.ReadBudget(reader) : null;
        });
    }

    public Task<TaskCreation> TryCreateAsync(BudgetDefinition budget, string createdBy, int maxOpenPerKey, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentException.ThrowIfNullOrEmpty(createdBy);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await using (var lockKey = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('purser.task_owner:' || $1, 0))", connection, transaction))
            {
                lockKey.Parameters.Add(new NpgsqlParameter<string> { TypedValue = createdBy });
                await lockKey.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            if (await CountAsync(connection, transaction, "SELECT count(*) FROM budgets WHERE id = $1", budget.Id, ct).ConfigureAwait(false) > 0)
            {
                return TaskCreation.Exists;
            }

            if (await CountAsync(connection, transaction, "SELECT count(*) FROM budgets WHERE created_by = $1", createdBy, ct).ConfigureAwait(false) >= maxOpenPerKey)
            {
                return TaskCreation.LimitReached;
            }

            await using var insert = new NpgsqlCommand(
                $"INSERT INTO budgets ({AdminRows.TaskBudgetColumns}, created_at, updated_at, created_by) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) ON CONFLICT (id) DO NOTHING",
                connection,
                transaction);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.Id });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.Scope.ToString() });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.WindowText(budget.Window) });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budget.TimeZone });
            insert.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = budget.CapUsd?.NanoUsd });
            insert.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = budget.CapTokens });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.EnforcementText(budget.Enforcement) });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.ModeText(budget.Mode) });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AdminColumns.ThresholdsText(budget.AlertThresholds) });
            insert.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = budget.Degrade?.FallbackModel });
            insert.Parameters.Add(new NpgsqlParameter<int?> { TypedValue = budget.Degrade?.MinMaxTokens });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdminColumns.ToUnixMs(_time.GetUtcNow()) });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = createdBy });

            // Another creator of the same id (another key, so another lock) may have committed since the probe.
            var inserted = await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return inserted ? TaskCreation.Created : TaskCreation.Exists;
        });
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string value, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }
}
