using Npgsql;
using Purser.Events;
using Purser.Store.Sqlite;

namespace Purser.Store.Postgres.Events;

/// <summary>
/// The event log in the shared PostgreSQL database, with the SQLite store's behaviour: events are written at once,
/// timestamps kept to the millisecond in UTC, "append once" is one atomic insert across every instance. Transient
/// database failures surface as <see cref="Budgets.LedgerUnavailableException"/>.
/// </summary>
public sealed class PostgresEventStore : IEventStore
{
    private const string Columns = "id, timestamp, type, scope, budget_id, window_key, request_id, message, data_json";

    private const string Insert =
        "INSERT INTO events (" + Columns + ", dedupe_key, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

    // Each filter is "no filter" when its parameter is NULL, so one statement (prepared once) serves every query.
    private const string Query =
        "SELECT " + Columns + " FROM events"
        + " WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR scope = $2)"
        + " AND ($3::bigint IS NULL OR timestamp >= $3) AND ($4::bigint IS NULL OR timestamp < $4)"
        + " ORDER BY timestamp DESC, seq DESC LIMIT $5";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    public PostgresEventStore(PostgresDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _dataSource = db.DataSource;
        _time = time;
    }

    /// <summary>Appends the event; a duplicate event id is a caller bug and throws.</summary>
    public async Task AppendAsync(GatewayEvent e, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(e);
        await ExecuteAsync(Insert, e, null, ct).ConfigureAwait(false);
    }

    public async Task<bool> TryAppendOnceAsync(string dedupeKey, GatewayEvent e, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(dedupeKey);
        ArgumentNullException.ThrowIfNull(e);

        // The conflict target is the dedupe key only: a reused event id is still a bug and still throws.
        return await ExecuteAsync(Insert + " ON CONFLICT (dedupe_key) DO NOTHING", e, dedupeKey, ct).ConfigureAwait(false) == 1;
    }

    /// <summary>Newest first; insertion order breaks timestamp ties. A non-positive limit means no limit.</summary>
    public async Task<IReadOnlyList<GatewayEvent>> QueryAsync(EventQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        List<GatewayEvent> events;
        try
        {
            await using var command = _dataSource.CreateCommand(Query);
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = query.Type });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = query.Scope });
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = query.From?.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = query.To?.ToUnixTimeMilliseconds() });

            // LIMIT NULL is no limit.
            command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = query.Limit > 0 ? query.Limit : null });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            events = await StoreRows.ReadEventsAsync(reader, ct).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (PostgresErrors.IsUnavailable(ex))
        {
            throw PostgresErrors.Wrap(ex);
        }

        return events;
    }

    private async Task<int> ExecuteAsync(string sql, GatewayEvent e, string? dedupeKey, CancellationToken ct)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Id });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = e.Timestamp.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Type });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = e.Scope });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = e.BudgetId });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = e.WindowKey });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = e.RequestId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Message });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = e.DataJson });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = dedupeKey });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _time.GetUtcNow().ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (PostgresErrors.IsUnavailable(ex))
        {
            throw PostgresErrors.Wrap(ex);
        }
    }
}
