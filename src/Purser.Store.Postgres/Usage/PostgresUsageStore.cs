using System.Text;
using System.Threading.Channels;
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
public sealed class PostgresUsageStore : IUsageSink, IUsageStore, IUsageExport, IAsyncDisposable
{
    private const int MaxBatch = 512;

    private static readonly TimeSpan MaxDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    // Shorter than SQLite's 5 s: an outage of the shared database ends with a restart, and the records should land
    // soon after it is back.
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly PostgresDatabase _database;
    private readonly Action<Exception>? _onError;
    private readonly TimeProvider _time;
    private readonly Channel<QueueItem> _queue;
    private readonly Task _writer;
    private long _pending;

    public PostgresUsageStore(PostgresDatabase db, Action<Exception>? onError, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _database = db;
        _onError = onError;
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
    /// Enqueues the record for the background writer; never waits for the database. Throws only on a caller bug: a
    /// null required field (it could never be written, and would block every later record) or use after disposal.
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
            throw new ObjectDisposedException(nameof(PostgresUsageStore), "Usage records cannot be recorded after the store was disposed.");
        }
    }

    public Task FlushAsync(CancellationToken ct)
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // After disposal began the writer drains everything still queued, so its end is the flush.
        return _queue.Writer.TryWrite(new QueueItem(null, flushed))
            ? flushed.Task.WaitAsync(ct)
            : _writer.WaitAsync(ct);
    }

    /// <summary>
    /// Committed records matching the query, newest first, from every instance. Records still queued here are not
    /// seen: call <see cref="FlushAsync"/> first when read-your-writes matters. A non-positive limit means no limit.
    /// </summary>
    public Task<IReadOnlyList<UsageRecord>> QueryAsync(UsageQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        return PostgresErrors.RunAsync<IReadOnlyList<UsageRecord>>(async () =>
        {
            var records = new List<UsageRecord>();
            await using var command = PostgresUsageRows.CreateQuery(_database.DataSource, query);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                records.Add(PostgresUsageRows.Read(reader));
            }

            return records;
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
                UsageCsv.AppendRow(row, PostgresUsageRows.Read(reader));
                await writer.WriteAsync(row, ct).ConfigureAwait(false);
            }

            return true;
        }).ConfigureAwait(false);
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
        var batch = new List<UsageRecord>(MaxBatch);
        var flushes = new List<TaskCompletionSource>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await CollectAsync(reader, batch, flushes).ConfigureAwait(false);
            if (batch.Count > 0)
            {
                await WriteUntilDoneAsync(batch).ConfigureAwait(false);
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

    /// <summary>
    /// Takes what is queued, then waits for more until the batch is full or MaxDelay has passed. A flush request or
    /// shutdown ends the wait at once: their callers are waiting for the database already.
    /// </summary>
    private async Task CollectAsync(ChannelReader<QueueItem> reader, List<UsageRecord> batch, List<TaskCompletionSource> flushes)
    {
        CancellationTokenSource? deadline = null;
        try
        {
            while (batch.Count < MaxBatch)
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

                if (flushes.Count > 0 || batch.Count == 0)
                {
                    return;
                }

                deadline ??= new CancellationTokenSource(MaxDelay, _time);

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

    /// <summary>Writes the batch, retrying with backoff for as long as it takes: a record is accounting data.</summary>
    private async Task WriteUntilDoneAsync(List<UsageRecord> batch)
    {
        var backoff = FirstBackoff;
        while (true)
        {
            try
            {
                await using var insert = PostgresUsageRows.CreateInsert(_database.DataSource, batch);
                await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // Any failure is retried; the writer must outlive it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
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
            _onError?.Invoke(error);
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
