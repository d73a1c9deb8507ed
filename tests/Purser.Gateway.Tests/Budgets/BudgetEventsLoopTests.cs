using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Purser.Events;
using Purser.Gateway.Budgets;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// The budget events' writer is a hosted service that is owned: nothing runs before <c>StartAsync</c>, a write that
/// throws (a store's own cancellation included, which once ended the loop without a word) is logged with its exception
/// and the loop serves the next event, and <c>StopAsync</c> writes what is still queued.
/// </summary>
public sealed class BudgetEventsLoopTests
{
    [Fact]
    public async Task A_write_that_throws_is_logged_and_the_loop_keeps_serving_until_stopped()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new FailingStore(new InvalidOperationException("the database is away"), new OperationCanceledException("a store timeout"));
        var logger = new CapturingLogger<BudgetEvents>();
        await using var events = new BudgetEvents(store, time, logger);

        events.Raise("test.first", null, null, "fails with an ordinary exception");
        events.Raise("test.second", null, null, "fails with a cancellation");
        events.Raise("test.third", null, null, "lands");
        Assert.Equal(0, store.Calls);

        await events.StartAsync(CancellationToken.None);

        // The third event is written after two failures: the loop outlived both.
        var written = await store.Written.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        Assert.Equal("test.third", written.Type);
        Assert.Equal(3, store.Calls);
        Assert.Collection(
            logger.Entries.Where(e => e.Exception is not null),
            e => Assert.Same(store.Failures[0], e.Exception),
            e => Assert.Same(store.Failures[1], e.Exception));

        // Still serving: the next event lands too, and stopping writes what is queued before it returns.
        events.Raise("test.fourth", null, null, "after the failures");
        events.Raise("test.fifth", null, null, "queued at stop");
        await events.StopAsync(CancellationToken.None);
        Assert.Equal(["test.third", "test.fourth", "test.fifth"], store.Landed);
    }

    private sealed class FailingStore : IEventStore
    {
        private readonly List<GatewayEvent> _landed = [];
        private int _calls;

        public FailingStore(params Exception[] failures) => Failures = failures;

        public Exception[] Failures { get; }

        public Channel<GatewayEvent> Written { get; } = Channel.CreateUnbounded<GatewayEvent>();

        public int Calls => Volatile.Read(ref _calls);

        public string[] Landed
        {
            get
            {
                lock (_landed)
                {
                    return [.. _landed.Select(e => e.Type)];
                }
            }
        }

        public Task AppendAsync(GatewayEvent e, CancellationToken ct)
        {
            var call = Interlocked.Increment(ref _calls);
            if (call <= Failures.Length)
            {
                return Task.FromException(Failures[call - 1]);
            }

            lock (_landed)
            {
                _landed.Add(e);
            }

            Written.Writer.TryWrite(e);
            return Task.CompletedTask;
        }

        public async Task<bool> TryAppendOnceAsync(string dedupeKey, GatewayEvent e, CancellationToken ct)
        {
            await AppendAsync(e, ct);
            return true;
        }

        public Task<IReadOnlyList<GatewayEvent>> QueryAsync(EventQuery query, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<GatewayEvent>>([]);
    }
}
