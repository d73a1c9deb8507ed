using Microsoft.Data.Sqlite;
using Purser.Responses;

namespace Purser.Store.Sqlite.Responses;

/// <summary>
/// The Responses API's response id → provider memory in the Purser database (<c>response_routes</c>): an insert that
/// ignores a second write of the same id, primary-key lookups, and a pending background hold claimed by one
/// <c>UPDATE … WHERE pending_hold_id IS NOT NULL</c>, which only one writer of the file can win.
/// </summary>
public sealed class SqliteResponseRouteStore : IResponseRouteStore
{
    private readonly SqliteDatabase _database;

    public SqliteResponseRouteStore(SqliteDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _database = db;
    }

    public Task RememberAsync(ResponseRoute route, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(route);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "INSERT INTO response_routes (" + ResponseRouteRows.Columns + ") "
                + "VALUES ($id, $key, $provider, $alias, $upstream, $created, $hold, $nano, $bound, $conversation) ON CONFLICT (response_id) DO NOTHING;";
            command.Parameters.AddWithValue("$id", route.ResponseId);
            command.Parameters.AddWithValue("$key", route.KeyId);
            command.Parameters.AddWithValue("$provider", route.Provider);
            command.Parameters.AddWithValue("$alias", route.ModelAlias);
            command.Parameters.AddWithValue("$upstream", route.UpstreamModel);
            command.Parameters.AddWithValue("$created", route.CreatedAt.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$hold", (object?)route.PendingHoldId ?? DBNull.Value);
            command.Parameters.AddWithValue("$nano", route.PendingHoldAmount.NanoUsd);
            command.Parameters.AddWithValue("$bound", route.PendingInputBound);
            command.Parameters.AddWithValue("$conversation", (object?)route.ConversationTokens ?? DBNull.Value);
            return command.ExecuteNonQuery();
        });
    }

    public Task RecordConversationAsync(string responseId, long conversationTokens, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE response_routes SET conversation_tokens = $tokens WHERE response_id = $id;";
            command.Parameters.AddWithValue("$id", responseId);
            command.Parameters.AddWithValue("$tokens", conversationTokens);
            return command.ExecuteNonQuery();
        });
    }

    public Task<ResponseRoute?> FindAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "SELECT " + ResponseRouteRows.Columns + " "
                + "FROM response_routes WHERE response_id = $id;";
            command.Parameters.AddWithValue("$id", responseId);
            using var reader = command.ExecuteReader();
            return reader.Read() ? ResponseRouteRows.Read(reader) : null;
        });
    }

    public Task<IReadOnlyList<ResponseRoute>> PendingAsync(DateTimeOffset createdBefore, int limit, CancellationToken ct) =>
        Run<IReadOnlyList<ResponseRoute>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText =
                "SELECT " + ResponseRouteRows.Columns + " "
                + "FROM response_routes WHERE pending_hold_id IS NOT NULL AND created_at <= $before ORDER BY created_at LIMIT $limit;";
            command.Parameters.AddWithValue("$before", createdBefore.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            var routes = new List<ResponseRoute>();
            while (reader.Read())
            {
                routes.Add(ResponseRouteRows.Read(reader));
            }

            return routes;
        });

    public Task<bool> TryClaimPendingAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE response_routes SET pending_hold_id = NULL WHERE response_id = $id AND pending_hold_id IS NOT NULL;";
            command.Parameters.AddWithValue("$id", responseId);
            return command.ExecuteNonQuery() == 1;
        });
    }

    public Task ForgetAsync(string responseId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(responseId);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM response_routes WHERE response_id = $id;";
            command.Parameters.AddWithValue("$id", responseId);
            return command.ExecuteNonQuery();
        });
    }

    private Task<T> Run<T>(Func<SqliteConnection, T> operation)
    {
        try
        {
            using var connection = _database.OpenConnection();
            return Task.FromResult(operation(connection));
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
    }
}
