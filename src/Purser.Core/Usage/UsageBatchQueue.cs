using System.Threading.Channels;

namespace Purser.Usage;

/// <summary>
/// The request path's side of every usage store: <see cref="Record"/> only enqueues; one background writer drains the
/// queue into batches of up to <c>maxBatch</c> records, waiting at most <c>maxDelay</c> for a batch to fill, and hands
/// each batch to the store's write function. A failed write is reported and retried with exponential backoff until it
/// lands — a record is accounting data — so the store's write must be idempotent (request ids are unique keys).
/// The writer runs from <see cref="Start"/> (the gateway's <c>Hosting/BackgroundLoops</c> calls it when the host starts;
/// records accepted before are queued); disposal stops accepting records and drains everything still queued, starting
/// the writer if nothing did.
/// </summary>
public sealed class UsageBatchQueue : IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly Func<List<UsageRecord>, ValueTask> _write;
    private readonly int _maxBatch;
    private readonly TimeSpan _maxDelay;
    private readonly TimeSpan _maxBackoff;
    private readonly Action<Exception>? _onError;
    private readonly TimeProvider _time;
    private readonly string _owner;
    private readonly Channel<QueueItem> _queue;
    private readonly Lock _gate = new();
    private Task? _writer;
    private long _pending;

    /// <param name="write">Writes one batch durably, or throws; called by one writer at a time.</param>
    /// <param name="owner">The store's name, for the error of a record after disposal.</param>
    public UsageBatchQueue(Func<List<UsageRecord>, ValueTask> write, int maxBatch, TimeSpan maxDelay, TimeSpan maxBackoff, Action<Exception>? onError, TimeProvider time, string owner)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, TimeSpan.Zero);
        _write = write;
        _maxBatch = maxBatch;
        _maxDelay = maxDelay;
        _maxBackoff = maxBackoff;
        _onError = onError;
        _time = time;
        _owner = owner;
        _queue = Channel.CreateUnbounded<QueueItem>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Starts the one writer (idempotent).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _writer ??= Task.Run(RunWriterAsync);
        }
    }

    /// <summary>Records accepted by <see cref="Record"/> and not yet written.</summary>
    public long PendingCount => Interlocked.Read(ref _pending);

    /// <summary>
    /// Enqueues the record for the background writer; never waits for storage. Throws only on a caller bug: a null
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
            throw new ObjectDisposedException(_owner, "Usage records cannot be recorded after the store was disposed.");
        }
    }

    /// <summary>Completes once every record recorded before this call is written. Cancelling stops the wait, not the write.</summary>
    public Task FlushAsync(CancellationToken ct)
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // After disposal began (it started the writer first) the writer drains everything still queued, so its end is
        // the flush.
        return _queue.Writer.TryWrite(new QueueItem(null, flushed))
            ? flushed.Task.WaitAsync(ct)
            : Writer().WaitAsync(ct);
    }

    /// <summary>Stops accepting records, writes everything still queued, then stops the writer. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        Start();
        _queue.Writer.TryComplete();
        await Writer().ConfigureAwait(false);
    }

    private Task Writer()
    {
        lock (_gate)
        {
            return _writer ?? Task.CompletedTask;
        }
    }

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<UsageRecord>(Math.Min(_maxBatch, 4096));
        var flushes = new List<TaskCompletionSource>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await CollectAsync(reader, batch, flushes).ConfigureAwait(false);
            if (batch.Count > 0)
            {
                await WriteUntilDoneAsync(batch).ConfigureAwait(false);
                Interlocked.Add(ref _pending, -batch.Count);
                batch.Clear();

                // A synchronous store (SQLite) writes on this thread: handing it back between batches lets the requests
                // that arrived meanwhile run before the next batch, so a write burst delays a request by one small
                // batch at most (measured: the gateway's p99 at one connection on one core).
                await Task.Yield();
            }

            foreach (var flushed in flushes)
            {
                flushed.TrySetResult();
            }

            flushes.Clear();
        }
    }

    /// <summary>
    /// Takes what is queued, then waits for more until the batch is full or the delay has passed. A flush request or
    /// shutdown ends the wait at once: their callers are waiting for storage already.
    /// </summary>
    private async Task CollectAsync(ChannelReader<QueueItem> reader, List<UsageRecord> batch, List<TaskCompletionSource> flushes)
    {
        CancellationTokenSource? deadline = null;
        try
        {
            while (batch.Count < _maxBatch)
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

                if (flushes.Count > 0 || batch.Count == 0 || _maxDelay == TimeSpan.Zero)
                {
                    return;
                }

                deadline ??= new CancellationTokenSource(_maxDelay, _time);

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

    private async Task WriteUntilDoneAsync(List<UsageRecord> batch)
    {
        var backoff = FirstBackoff;
        while (true)
        {
            try
            {
                await _write(batch).ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // Any failure is retried; the writer must outlive it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ReportError(ex);
            }

            await Task.Delay(backoff, _time).ConfigureAwait(false);
            backoff = backoff * 2 < _maxBackoff ? backoff * 2 : _maxBackoff;
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
