using Microsoft.Data.Sqlite;
using Purser.Admin;
using Purser.Budgets;

namespace Purser.Store.Sqlite.Admin;

/// <summary>
/// Task scopes in the Purser database: rows of <c>budgets</c> whose <c>created_by</c> names the key that opened them.
/// Creation is one <c>BEGIN IMMEDIATE</c> transaction (existence, the creator's open-task count, the insert), so it is
/// atomic against every other writer of the file. An unusable database surfaces as
/// <see cref="LedgerUnavailableException"/>.
/// </summary>
public sealed class SqliteTaskScopeStore : ITaskScopeStore
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;

    public SqliteTaskScopeStore(SqliteDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _time = time;
    }

    public async Task<BudgetDefinition?> FindAsync(string budgetId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budgetId);
        try
        {
            using var connection = _database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {AdminRows.TaskBudgetColumns} FROM budgets WHERE id = $id;";
            command.Parameters.AddWithValue("$id", budgetId);
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? AdminColumns.ReadBudget(reader) : null;
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
    }

    public Task<TaskCreation> TryCreateAsync(BudgetDefinition budget, string createdBy, int maxOpenPerKey, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentException.ThrowIfNullOrEmpty(createdBy);
        ct.ThrowIfCancellationRequested();
        try
        {
            using var connection = _database.OpenConnection();
            using var transaction = connection.BeginTransaction(deferred: false);
            if (Scalar(connection, transaction, "SELECT count(*) FROM budgets WHERE id = $p;", budget.Id) > 0)
            {
                return Task.FromResult(TaskCreation.Exists);
            }

            if (Scalar(connection, transaction, "SELECT count(*) FROM budgets WHERE created_by = $p;", createdBy) >= maxOpenPerKey)
            {
                return Task.FromResult(TaskCreation.LimitReached);
            }

            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText =
                $"INSERT INTO budgets ({AdminRows.TaskBudgetColumns}, created_at, updated_at, created_by) VALUES ($id, $scope, $window_kind, "
                + "$time_zone, $cap_nano, $cap_tokens, $enforcement, $mode, $alert_thresholds, $degrade_fallback_model, "
                + "$degrade_min_max_tokens, $now, $now, $created_by);";
            insert.Parameters.AddWithValue("$id", budget.Id);
            insert.Parameters.AddWithValue("$scope", budget.Scope.ToString());
            insert.Parameters.AddWithValue("$window_kind", AdminColumns.WindowText(budget.Window));
            insert.Parameters.AddWithValue("$time_zone", budget.TimeZone);
            insert.Parameters.AddWithValue("$cap_nano", AdminColumns.ToDb(budget.CapUsd?.NanoUsd));
            insert.Parameters.AddWithValue("$cap_tokens", AdminColumns.ToDb(budget.CapTokens));
            insert.Parameters.AddWithValue("$enforcement", AdminColumns.EnforcementText(budget.Enforcement));
            insert.Parameters.AddWithValue("$mode", AdminColumns.ModeText(budget.Mode));
            insert.Parameters.AddWithValue("$alert_thresholds", AdminColumns.ThresholdsText(budget.AlertThresholds));
            insert.Parameters.AddWithValue("$degrade_fallback_model", AdminColumns.ToDb(budget.Degrade?.FallbackModel));
            insert.Parameters.AddWithValue("$degrade_min_max_tokens", AdminColumns.ToDb(budget.Degrade?.MinMaxTokens));
            insert.Parameters.AddWithValue("$now", AdminColumns.ToUnixMs(_time.GetUtcNow()));
            insert.Parameters.AddWithValue("$created_by", createdBy);
            insert.ExecuteNonQuery();
            transaction.Commit();
            return Task.FromResult(TaskCreation.Created);
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
    }

    private static long Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql, string value)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.Parameters.AddWithValue("$p", value);
        return (long)command.ExecuteScalar()!;
    }
}
