using System.Text;
using Purser.Store.Sqlite;
using Purser.Usage;

namespace Purser.Store.Postgres.Usage;

/// <summary>
/// Usage records in the shared PostgreSQL database, batched like the SQLite store: <see cref="Record"/> only enqueues;
/// one background writer drains the queue and writes batches of up to <see cref="MaxBatch"/> records, each one
/// statement (one round trip), waiting at most <see cref="MaxDelay"/> for a batch to fill. A failed batch (PostgreSQL
/// down) is reported through the error callback and retried with backoff until it lands; request ids make the retry
/// idempotent. Disposal drains the queue.
/// </summary>
public sealed class PostgresUsageStore : IUsageSink, IUsageStore, IUsageExport, IUsageRollups, IUsageRetention, IAsyncDisposable
{
    private const int MaxBatch = 512;

    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(50);

    // Shorter than SQLite's 5 s: an outage of the shared database ends with a restart, and the records should land
    // soon after it is back.
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly PostgresDatabase _database;
    private readonly UsageBatchQueue _queue;

    public PostgresUsageStore(PostgresDatabase db, Action<Exception>? onError, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _queue = new UsageBatchQueue(WriteBatchAsync, MaxBatch, MaxDelay, MaxBackoff, onError, time, nameof(PostgresUsageStore));
    }

    /// <summary>Records accepted by <see cref="Record"/> and not yet committed.</summary>
    public long PendingCount => _queue.PendingCount;

    /// <summary>Enqueues the record for the background writer; never waits for the database (see <see cref="UsageBatchQueue.Record"/>).</summary>
    public void Record(UsageRecord record) => _queue.Record(record);

    /// <summary>Starts the background writer (the gateway's <c>Hosting/BackgroundLoops</c> calls it at host start).</summary>
    public void Start() => _queue.Start();

    public Task FlushAsync(CancellationToken ct) => _queue.FlushAsync(ct);

    /// <summary>
    /// Committed records matching the query, newest first, from every instance. Records still queued here are not
    /// seen: call <see cref="FlushAsync"/> first when read-your-writes matters. A non-positive limit means no limit.
    /// </summary>
    public Task<IReadOnlyList<UsageRecord>> QueryAsync(UsageQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = PostgresUsageRows.CreateQuery(_database.DataSource, query);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await UsageRecordColumns.ReadAllAsync(reader, ct).ConfigureAwait(false);
        });
    }

    public async Task WriteCsvAsync(UsageQuery query, TextWriter writer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(writer);
        await writer.WriteAsync(UsageCsv.Header.AsMemory(), ct).ConfigureAwait(false);
        await PostgresErrors.RunAsync(async () =>
        {
            var row = new StringBuilder(256);
            await using var command = PostgresUsageRows.CreateQuery(_database.DataSource, query);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                row.Clear();
                UsageCsv.AppendRow(row, UsageRecordColumns.Read(reader));
                await writer.WriteAsync(row, ct).ConfigureAwait(false);
            }

            return true;
        }).ConfigureAwait(false);
        await writer.FlushAsync(ct).ConfigureAwait(false);
    }

    // The horizon rises in the statement that deletes, so no sum reads a half-pruned hour from the records; SKIP LOCKED
    // lets instances pruning at once take different rows instead of waiting on each other.
    private const string PruneSql =
        """
        WITH horizon AS (UPDATE usage_retention SET pruned_before = GREATEST(pruned_before, $1) WHERE id = 1)
        DELETE FROM usage_records WHERE request_id IN (
            SELECT request_id FROM usage_records WHERE timestamp < $1 ORDER BY timestamp LIMIT $2 FOR UPDATE SKIP LOCKED)
        """;

    /// <summary>The committed hourly roll-ups of every instance whose hour starts in [from, to), oldest first.</summary>
    public Task<IReadOnlyList<UsageRollup>> QueryRollupsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        PostgresErrors.RunAsync<IReadOnlyList<UsageRollup>>(async () =>
        {
            var rollups = new List<UsageRollup>();
            await using var command = _database.DataSource.CreateCommand(UsageRollupRows.SelectSql);
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = to.ToUnixTimeMilliseconds() });
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                rollups.Add(UsageRollupRows.Read(reader));
            }

            return rollups;
        });

    /// <summary>Deletes up to <paramref name="batchSize"/> of the oldest records before <paramref name="before"/> in one short statement.</summary>
    public Task<int> PruneAsync(DateTimeOffset before, int batchSize, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _database.DataSource.CreateCommand(PruneSql);
            command.Parameters.Add(new Npgsql.NpgsqlParameter<long> { TypedValue = before.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<int> { TypedValue = batchSize });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        });
    }

    /// <summary>Stops accepting records, writes everything still queued, then stops the writer.</summary>
    public ValueTask DisposeAsync() => _queue.DisposeAsync();

    /// <summary>One batch in one statement (one round trip); a request id already stored is skipped.</summary>
    private async ValueTask WriteBatchAsync(List<UsageRecord> batch)
    {
        await using var insert = PostgresUsageRows.CreateInsert(_database.DataSource, batch);
        await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
