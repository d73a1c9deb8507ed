using System.Text;
using System.Threading.Channels;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// Usage records in the Purser database. <see cref="Record"/> only enqueues; one background writer drains the queue
/// and writes batches of up to <see cref="SqliteStoreOptions.MaxBatch"/> records, one transaction each, waiting at
/// most <see cref="SqliteStoreOptions.MaxDelay"/> for a batch to fill. A failed batch is reported through
/// <see cref="SqliteStoreOptions.OnError"/> and retried with backoff until it lands, so no record is dropped.
/// </summary>
public sealed class SqliteUsageStore : IUsageSink, IUsageStore, IUsageExport, IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly SqliteDatabase _database;
    private readonly SqliteStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<QueueItem> _queue;
    private readonly Task _writer;
    private long _pending;

    public SqliteUsageStore(SqliteDatabase db, SqliteStoreOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDelay, TimeSpan.Zero, nameof(options));

        _database = db;
        _options = options;
        _time = time;
        _queue = Channel.CreateUnbounded<QueueItem>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
        _writer = Task.Run(RunWriterAsync);
    }

    /// <summary>Records accepted by <see cref="Record"/> and not yet committed.</summary>
    public long PendingCount => Interlocked.Read(ref _pending);

    /// <summary>
    /// Enqueues the record for the background writer; never waits for the disk. Throws only on a caller bug: a null
    /// required field (it could never be written, and would block every later record) or use after disposal.
    /// </summary>
    public void Record(UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.RequestId is null || record.KeyId is null || record.ModelAlias is null
            || record.Provider is null || record.UpstreamModel is null || record.Operation is null)
        {
            throw new ArgumentException("A usage record's text fields other than ErrorCode must not be null.", nameof(record));
        }

        Interlocked.Increment(ref _pending);
        if (!_queue.Writer.TryWrite(new QueueItem(record, null)))
        {
            Interlocked.Decrement(ref _pending);
            throw new ObjectDisposedException(nameof(SqliteUsageStore), "Usage records cannot be recorded after the store was disposed.");
        }
    }

    /// <summary>
    /// Completes once every record recorded before this call is committed. Cancelling stops the wait, not the write.
    /// </summary>
    public Task FlushAsync(CancellationToken ct)
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // After disposal began the writer drains everything still queued, so its end is the flush.
        return _queue.Writer.TryWrite(new QueueItem(null, flushed))
            ? flushed.Task.WaitAsync(ct)
            : _writer.WaitAsync(ct);
    }

    /// <summary>
    /// Committed records matching the query, newest first. Records still queued are not seen: call
    /// <see cref="FlushAsync"/> first when read-your-writes matters. A non-positive limit means no limit.
    /// </summary>
    public async Task<IReadOnlyList<UsageRecord>> QueryAsync(UsageQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        var records = new List<UsageRecord>();
        using var connection = _database.OpenConnection();
        using var command = UsageRecordRows.CreateCommand(connection, query);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            records.Add(UsageRecordRows.Read(reader));
        }

        return records;
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
            UsageCsv.AppendRow(row, UsageRecordRows.Read(reader));
            await writer.WriteAsync(row, ct).ConfigureAwait(false);
        }

        await writer.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Stops accepting records, writes everything still queued, then stops the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<UsageRecord>(Math.Min(_options.MaxBatch, 4096));
        var flushes = new List<TaskCompletionSource>();
        UsageBatchWriter? writer = null;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                await CollectAsync(reader, batch, flushes).ConfigureAwait(false);
                if (batch.Count > 0)
                {
                    writer = await WriteUntilDoneAsync(writer, batch).ConfigureAwait(false);
                    Interlocked.Add(ref _pending, -batch.Count);
                    batch.Clear();
                }

                foreach (var flushed in flushes)
                {
                    flushed.TrySetResult();
                }

                flushes.Clear();
            }
        }
        finally
        {
            writer?.Dispose();
        }
    }

    /// <summary>
    /// Takes what is queued, then waits for more until the batch is full or MaxDelay has passed. A flush request or
    /// shutdown ends the wait at once: their callers are waiting for the disk already.
    /// </summary>
    private async Task CollectAsync(ChannelReader<QueueItem> reader, List<UsageRecord> batch, List<TaskCompletionSource> flushes)
    {
        CancellationTokenSource? deadline = null;
        try
        {
            while (batch.Count < _options.MaxBatch)
            {
                if (reader.TryRead(out var item))
                {
                    if (item.Record is { } record)
                    {
                        batch.Add(record);
                    }
                    else if (item.Flushed is { } flushed)
                    {
                        flushes.Add(flushed);
                    }

                    continue;
                }

                if (flushes.Count > 0 || batch.Count == 0 || _options.MaxDelay == TimeSpan.Zero)
                {
                    return;
                }

                deadline ??= new CancellationTokenSource(_options.MaxDelay, _time);

                // Awaited without throwing: the deadline passing is the normal end of a quiet batch, not an error.
                var more = reader.WaitToReadAsync(deadline.Token).AsTask();
                await ((Task)more).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (!more.IsCompletedSuccessfully || !more.Result)
                {
                    return;
                }
            }
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    /// <summary>
    /// Writes the batch, retrying with exponential backoff for as long as it takes: a record is accounting data and
    /// must not be lost to a full disk or a lock held by an operator's sqlite3 shell. Returns the writer to reuse.
    /// </summary>
    private async Task<UsageBatchWriter> WriteUntilDoneAsync(UsageBatchWriter? writer, List<UsageRecord> batch)
    {
        var backoff = FirstBackoff;
        while (true)
        {
            try
            {
                writer ??= new UsageBatchWriter(_database);
                writer.Write(batch);
                return writer;
            }
#pragma warning disable CA1031 // Any failure is retried on a fresh connection; the writer must outlive it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                writer?.Dispose();
                writer = null;
                ReportError(ex);
            }

            await Task.Delay(backoff, _time).ConfigureAwait(false);
            backoff = backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff;
        }
    }

    private void ReportError(Exception error)
    {
        try
        {
            _options.OnError?.Invoke(error);
        }
#pragma warning disable CA1031 // A throwing error callback must not stop the writer.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Either a record to write or a flush request to complete once what is ahead of it is written.</summary>
    private readonly record struct QueueItem(UsageRecord? Record, TaskCompletionSource? Flushed);
}
