using System.Threading.Channels;
using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Pricing;
using Purser.Store.Postgres.Ledger;

namespace Purser.Store.Postgres.Tests.Ledger;

/// <summary>
/// The settlement retry loop is owned: nothing is retried before <see cref="SettlementRetry.Start"/>; a retried
/// settlement that fails other than by an outage is reported (and dropped: the hold expires charged in full) and the
/// loop goes on landing the next one after its backoff (fake clock, advanced when the loop's timer is armed).
/// </summary>
public sealed class SettlementRetryLoopTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 1, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_retry_that_throws_is_reported_and_the_loop_lands_the_next_settlement()
    {
        var time = new ArmedTimeProvider(Now);
        var inner = new ScriptedLedger();
        var reported = Channel.CreateUnbounded<Exception>();
        await using var retry = new SettlementRetry(inner, time, ex => reported.Writer.TryWrite(ex));

        // The database is away: the caller sees the failure and the settlement waits.
        inner.Next.Enqueue(new LedgerUnavailableException("down"));
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await retry.SettleAsync("h1", new Money(5), 1, default));
        Assert.Equal(1, retry.PendingCount);

        // Its retry fails with a bug, not an outage: reported, dropped, and the loop waits for the next one.
        var bug = new InvalidOperationException("a bug in the store");
        inner.Next.Enqueue(bug);
        retry.Start();
        Assert.Equal(TimeSpan.FromMilliseconds(100), await time.NextTimerAsync());
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Same(bug, await reported.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));
        Assert.Equal(0, retry.PendingCount);

        // Still serving: the next settlement that meets an outage lands on its retry.
        inner.Next.Enqueue(new LedgerUnavailableException("down again"));
        await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await retry.SettleAsync("h2", new Money(7), 1, default));
        Assert.Equal(TimeSpan.FromMilliseconds(100), await time.NextTimerAsync());
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("h2", await inner.Settled.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));
        await retry.DisposeAsync();
        Assert.Equal(0, retry.PendingCount);
        Assert.False(reported.Reader.TryRead(out _));
    }

    /// <summary>An inner ledger whose settlements fail with the queued errors, then land.</summary>
    private sealed class ScriptedLedger : IBudgetLedger
    {
        public System.Collections.Concurrent.ConcurrentQueue<Exception> Next { get; } = new();

        public Channel<string> Settled { get; } = Channel.CreateUnbounded<string>();

        public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
        {
            if (Next.TryDequeue(out var failure))
            {
                return ValueTask.FromException<SettleOutcome>(failure);
            }

            Settled.Writer.TryWrite(holdId);
            return ValueTask.FromResult(SettleOutcome.Settled);
        }

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => ValueTask.FromResult(0);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<CounterEntry>>([]);

        public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<CounterState>>([]);
    }
}
