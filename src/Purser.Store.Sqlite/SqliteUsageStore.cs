using System.Text;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// Usage records in the Purser database. <see cref="Record"/> only enqueues; one background writer drains the queue
/// and writes batches of up to <see cref="SqliteStoreOptions.MaxBatch"/> records, one transaction each, waiting at
/// most <see cref="SqliteStoreOptions.MaxDelay"/> for a batch to fill. A failed batch is reported through
/// <see cref="SqliteStoreOptions.OnError"/> and retried with backoff until it lands, so no record is dropped.
/// </summary>
public sealed class SqliteUsageStore : IUsageSink, IUsageStore, IUsageExport, IUsageRollups, IUsageRetention, IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly SqliteDatabase _database;
    private readonly UsageBatchQueue _queue;

    // The background writer's connection and prepared insert, reused across batches; replaced after a failure.
    private UsageBatchWriter? _batchWriter;

    public SqliteUsageStore(SqliteDatabase db, SqliteStoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDelay, TimeSpan.Zero, nameof(options));

        _database = db;
        _queue = new UsageBatchQueue(WriteBatch, options.MaxBatch, options.MaxDelay, MaxBackoff, options.OnError, time, nameof(SqliteUsageStore));
    }

    /// <summary>Records accepted by <see cref="Record"/> and not yet committed.</summary>
    public long PendingCount => _queue.PendingCount;

    /// <summary>Enqueues the record for the background writer; never waits for the disk (see <see cref="UsageBatchQueue.Record"/>).</summary>
    public void Record(UsageRecord record) => _queue.Record(record);

    /// <summary>Starts the background writer (the gateway's <c>Hosting/BackgroundLoops</c> calls it at host start).</summary>
    public void Start() => _queue.Start();

    /// <summary>
    /// Completes once every record recorded before this call is committed. Cancelling stops the wait, not the write.
    /// </summary>
    public Task FlushAsync(CancellationToken ct) => _queue.FlushAsync(ct);

    /// <summary>
    /// Committed records matching the query, newest first. Records still queued are not seen: call
    /// <see cref="FlushAsync"/> first when read-your-writes matters. A non-positive limit means no limit.
    /// </summary>
    public async Task<IReadOnlyList<UsageRecord>> QueryAsync(UsageQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var connection = _database.OpenConnection();
        using var command = UsageRecordRows.CreateCommand(connection, query);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await UsageRecordColumns.ReadAllAsync(reader, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams the matching records as CSV (header row first), in the order of <see cref="QueryAsync"/>, without
    /// holding them all in memory.
    /// </summary>
    public async Task WriteCsvAsync(UsageQuery query, TextWriter writer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(writer);
        await writer.WriteAsync(UsageCsv.Header.AsMemory(), ct).ConfigureAwait(false);

        var row = new StringBuilder(256);
        using var connection = _database.OpenConnection();
        using var command = UsageRecordRows.CreateCommand(connection, query);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            row.Clear();
            UsageCsv.AppendRow(row, UsageRecordColumns.Read(reader));
            await writer.WriteAsync(row, ct).ConfigureAwait(false);
        }

        await writer.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The committed hourly roll-ups whose hour starts in [from, to), oldest first.</summary>
    public async Task<IReadOnlyList<UsageRollup>> QueryRollupsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var rollups = new List<UsageRollup>();
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = UsageRollupRows.SelectSql;
        command.Parameters.AddWithValue("$1", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$2", to.ToUnixTimeMilliseconds());
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            rollups.Add(UsageRollupRows.Read(reader));
        }

        return rollups;
    }

    /// <summary>
    /// Deletes up to <paramref name="batchSize"/> of the oldest records before <paramref name="before"/> in one short
    /// write transaction (the oldest first, on the timestamp index), raising the pruned horizon in the same
    /// transaction so that no sum ever reads a half-pruned hour from the records.
    /// </summary>
    public Task<int> PruneAsync(DateTimeOffset before, int batchSize, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var connection = _database.OpenConnection();
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            """
            UPDATE usage_retention SET pruned_before = MAX(pruned_before, $before) WHERE id = 1;
            DELETE FROM usage_records WHERE rowid IN (
                SELECT rowid FROM usage_records WHERE timestamp < $before ORDER BY timestamp LIMIT $limit);
            """;
        command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", batchSize);
        ct.ThrowIfCancellationRequested();

        // The UPDATE changes one row; the rest of the count is the DELETE's.
        var deleted = command.ExecuteNonQuery() - 1;
        transaction.Commit();
        return Task.FromResult(deleted);
    }

    /// <summary>Stops accepting records, writes everything still queued, then stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync().ConfigureAwait(false);
        _batchWriter?.Dispose();
        _batchWriter = null;
    }

    /// <summary>
    /// One batch in one transaction on the reused connection; after a failure (a full disk, a lock held by an
    /// operator's sqlite3 shell) the next try starts on a fresh connection.
    /// </summary>
    private ValueTask WriteBatch(List<UsageRecord> batch)
    {
        try
        {
            _batchWriter ??= new UsageBatchWriter(_database);
            _batchWriter.Write(batch);
            return ValueTask.CompletedTask;
        }
        catch
        {
            _batchWriter?.Dispose();
            _batchWriter = null;
            throw;
        }
    }
}
