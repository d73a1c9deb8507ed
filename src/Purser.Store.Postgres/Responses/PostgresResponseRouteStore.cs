using Npgsql;
using Purser.Responses;
using Purser.Store.Sqlite.Responses;

namespace Purser.Store.Postgres.Responses;

/// <summary>
/// The Responses API's response id → provider memory in the shared PostgreSQL database (<c>response_routes</c>), with
/// the SQLite store's rules: <c>ON CONFLICT DO NOTHING</c> inserts, primary-key lookups, and a pending background hold
/// claimed by one conditional <c>UPDATE</c> (row-locked, so two instances racing on it agree on one winner).
/// </summary>
public sealed class PostgresResponseRouteStore : IResponseRouteStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresResponseRouteStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public Task RememberAsync(ResponseRoute route, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(route);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "INSERT INTO response_routes (" + ResponseRouteRows.Columns + ") "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (response_id) DO NOTHING");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = route.ResponseId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = route.KeyId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = route.Provider });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = route.ModelAlias });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = route.UpstreamModel });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = route.CreatedAt.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)route.PendingHoldId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = route.PendingHoldAmount.NanoUsd });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = route.PendingInputBound });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)route.ConversationTokens ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });
    }

    public Task RecordConversationAsync(string responseId, long conversationTokens, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("UPDATE response_routes SET conversation_tokens = $2 WHERE response_id = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = responseId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = conversationTokens });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });
    }

    public Task<ResponseRoute?> FindAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT " + ResponseRouteRows.Columns + " "
                + "FROM response_routes WHERE response_id = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = responseId });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? ResponseRouteRows.Read(reader) : null;
        });
    }

    public Task<IReadOnlyList<ResponseRoute>> PendingAsync(DateTimeOffset createdBefore, int limit, CancellationToken ct) =>
        PostgresErrors.RunAsync<IReadOnlyList<ResponseRoute>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT " + ResponseRouteRows.Columns + " "
                + "FROM response_routes WHERE pending_hold_id IS NOT NULL AND created_at <= $1 ORDER BY created_at LIMIT $2");
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = createdBefore.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var routes = new List<ResponseRoute>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                routes.Add(ResponseRouteRows.Read(reader));
            }

            return routes;
        });

    public Task<bool> TryClaimPendingAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("UPDATE response_routes SET pending_hold_id = NULL WHERE response_id = $1 AND pending_hold_id IS NOT NULL");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = responseId });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        });
    }

    public Task ForgetAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("DELETE FROM response_routes WHERE response_id = $1");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = responseId });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });
    }
}
