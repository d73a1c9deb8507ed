using Microsoft.Data.Sqlite;
using Purser.Events;

namespace Purser.Store.Sqlite.Admin;

/// <summary>
/// The event log in the Purser database. Events are written at once (they are rare compared with usage records and
/// an operator expects to see an alert immediately). Timestamps are kept to the millisecond, in UTC.
/// </summary>
public sealed class SqliteEventStore : IEventStore
{
    private const string Columns = "id, timestamp, type, scope, budget_id, window_key, request_id, message, data_json";

    private const string Insert =
        "INSERT INTO events (" + Columns + ", dedupe_key, recorded_at) VALUES "
        + "($id, $timestamp, $type, $scope, $budget_id, $window_key, $request_id, $message, $data_json, $dedupe_key, $recorded_at)";

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;

    public SqliteEventStore(SqliteDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _time = time;
    }

    /// <summary>Appends the event; a duplicate event id is a caller bug and throws.</summary>
    public async Task AppendAsync(GatewayEvent e, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = Insert + ";";
        AddParameters(command, e, null);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> TryAppendOnceAsync(string dedupeKey, GatewayEvent e, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(dedupeKey);
        ArgumentNullException.ThrowIfNull(e);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();

        // The conflict target is the dedupe key only: a reused event id is still a bug and still throws.
        command.CommandText = Insert + " ON CONFLICT (dedupe_key) DO NOTHING;";
        AddParameters(command, e, dedupeKey);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    /// <summary>Newest first; insertion order breaks timestamp ties. A non-positive limit means no limit.</summary>
    public async Task<IReadOnlyList<GatewayEvent>> QueryAsync(EventQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var connection = _database.OpenConnection();
        using var command = CreateQuery(connection, query);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await StoreRows.ReadEventsAsync(reader, ct).ConfigureAwait(false);
    }

    private static SqliteCommand CreateQuery(SqliteConnection connection, EventQuery query)
    {
        var filter = new SqliteFilter(connection.CreateCommand(), "SELECT " + Columns + " FROM events");
        if (query.Type is not null)
        {
            filter.Where("type = $type", "$type", query.Type);
        }

        if (query.Scope is not null)
        {
            filter.Where("scope = $scope", "$scope", query.Scope);
        }

        filter.Between("timestamp", query.From, query.To);
        return filter.Finish(query.Limit);
    }

    private void AddParameters(SqliteCommand command, GatewayEvent e, string? dedupeKey)
    {
        command.Parameters.AddWithValue("$id", e.Id);
        command.Parameters.AddWithValue("$timestamp", e.Timestamp.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$type", e.Type);
        command.Parameters.AddWithValue("$scope", AdminColumns.ToDb(e.Scope));
        command.Parameters.AddWithValue("$budget_id", AdminColumns.ToDb(e.BudgetId));
        command.Parameters.AddWithValue("$window_key", AdminColumns.ToDb(e.WindowKey));
        command.Parameters.AddWithValue("$request_id", AdminColumns.ToDb(e.RequestId));
        command.Parameters.AddWithValue("$message", e.Message);
        command.Parameters.AddWithValue("$data_json", AdminColumns.ToDb(e.DataJson));
        command.Parameters.AddWithValue("$dedupe_key", AdminColumns.ToDb(dedupeKey));
        command.Parameters.AddWithValue("$recorded_at", _time.GetUtcNow().ToUnixTimeMilliseconds());
    }
}
