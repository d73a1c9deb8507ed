using System.Threading.Channels;
using Purser.Ledger.Contract;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Core.Tests.Usage;

/// <summary>
/// The usage writer is owned: nothing is written before <see cref="UsageBatchQueue.Start"/> (records are queued), a
/// write that throws is reported and retried after its backoff (fake clock) and the writer keeps serving, and disposal
/// drains every record, started or not.
/// </summary>
public sealed class UsageBatchQueueLoopTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 8, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_write_that_throws_is_reported_and_the_writer_keeps_serving_until_disposed()
    {
        var time = new ArmedTimeProvider(T0);
        var failure = new InvalidOperationException("the disk is full");
        var failuresLeft = 1;
        var landed = new List<string>();
        var reported = Channel.CreateUnbounded<Exception>();
        await using var queue = new UsageBatchQueue(
            batch =>
            {
                if (Interlocked.Decrement(ref failuresLeft) >= 0)
                {
                    throw failure;
                }

                lock (landed)
                {
                    landed.AddRange(batch.Select(r => r.RequestId));
                }

                return ValueTask.CompletedTask;
            },
            maxBatch: 16,
            maxDelay: TimeSpan.Zero,
            maxBackoff: TimeSpan.FromSeconds(1),
            onError: ex => reported.Writer.TryWrite(ex),
            time,
            "test");

        queue.Record(Make("r1"));
        Assert.Equal(1, queue.PendingCount);
        Assert.Equal(1, Volatile.Read(ref failuresLeft)); // nothing runs before Start

        queue.Start();
        Assert.Same(failure, await reported.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));

        // The retry waits its backoff on the fake clock: advanced once it is armed, the batch lands.
        Assert.Equal(TimeSpan.FromMilliseconds(100), await time.NextTimerAsync());
        time.Advance(TimeSpan.FromMilliseconds(100));
        await queue.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);

        // Still serving after the failure; disposal writes what is still queued.
        queue.Record(Make("r2"));
        await queue.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        queue.Record(Make("r3"));
        await queue.DisposeAsync();
        Assert.Equal(["r1", "r2", "r3"], landed);
        Assert.Equal(0, queue.PendingCount);
    }

    [Fact]
    public async Task Disposal_without_start_still_writes_every_record()
    {
        var landed = new List<string>();
        var queue = new UsageBatchQueue(
            batch =>
            {
                landed.AddRange(batch.Select(r => r.RequestId));
                return ValueTask.CompletedTask;
            },
            maxBatch: 2,
            maxDelay: TimeSpan.Zero,
            maxBackoff: TimeSpan.FromSeconds(1),
            onError: null,
            new ArmedTimeProvider(T0),
            "test");
        for (var i = 0; i < 5; i++)
        {
            queue.Record(Make("r" + i));
        }

        await queue.DisposeAsync();
        Assert.Equal(["r0", "r1", "r2", "r3", "r4"], landed);
        Assert.Throws<ObjectDisposedException>(() => queue.Record(Make("late")));
    }

    private static UsageRecord Make(string id) => new()
    {
        RequestId = id,
        Timestamp = T0,
        KeyId = "k",
        ModelAlias = "m",
        Provider = "p",
        UpstreamModel = "u",
        Operation = "chat",
        Cost = new Money(1),
    };
}
