using System.Threading.Channels;
using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// The lease flush loop is owned: it runs from <see cref="LeasedBudgetLedger.Start"/>, a pass that throws something
/// other than an outage (which once ended the loop without a word, leaving leases never renewed) is reported and the
/// loop renews at its next turn (fake clock, advanced when the loop's timer is armed), and disposal returns the lease.
/// </summary>
public sealed class LeasedFlushLoopTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 1, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey Org = new("org", "2026-12-08");

    [Fact]
    public async Task A_flush_that_throws_is_reported_and_the_loop_renews_at_its_next_turn_then_returns_the_lease()
    {
        var time = new ArmedTimeProvider(Now);
        var inner = new FaultyLedger(new InMemoryBudgetLedger());
        var reported = Channel.CreateUnbounded<Exception>();
        var options = new LeaseOptions { InstanceId = "a", MaxLease = new Money(100_000), IdleAfter = TimeSpan.FromHours(1) };
        await using var leased = new LeasedBudgetLedger(inner, options, time, ex => reported.Writer.TryWrite(ex));

        var line = new HoldLine(Org, new Money(1_000_000), null, AccountingMode.Reserve, Enforcement.Hard);
        Assert.True((await leased.ReserveAsync(new HoldRequest("r1", [line], new Money(100), 10, Now.AddMinutes(2)), default)).Granted);
        Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync("r1", new Money(60), 6, default));
        Assert.Equal(1, inner.LeaseReserves);

        inner.ReadFailure = new InvalidOperationException("a bug in the store");
        leased.Start();
        Assert.Equal(options.FlushInterval, await time.NextTimerAsync());

        // Past half the lease's TTL the pass renews: its read throws, which is reported, and the loop waits again.
        time.Advance(options.LeaseTtl / 2 + options.FlushInterval);
        Assert.Same(inner.ReadFailure, await reported.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));
        Assert.Equal(options.FlushInterval, await time.NextTimerAsync());
        Assert.Equal(1, leased.ActiveLeases);

        inner.ReadFailure = null;
        time.Advance(options.FlushInterval);
        Assert.Equal(options.FlushInterval, await time.NextTimerAsync());
        Assert.Equal(2, inner.LeaseReserves);
        Assert.Equal(1, leased.ActiveLeases);
        Assert.False(reported.Reader.TryRead(out _));

        // Disposal returns the lease: the inner ledger holds nothing and has exactly what was spent.
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(60), Money.Zero, 6, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    /// <summary>An inner ledger whose reads can throw a non-outage error; counts the lease holds taken.</summary>
    private sealed class FaultyLedger(IBudgetLedger inner) : IBudgetLedger
    {
        private int _leaseReserves;

        public Exception? ReadFailure { get; set; }

        public int LeaseReserves => Volatile.Read(ref _leaseReserves);

        public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
        {
            if (request.HoldId.StartsWith("lease:", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _leaseReserves);
            }

            return inner.ReserveAsync(request, cancellationToken);
        }

        public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken) =>
            inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.ExpireAsync(now, cancellationToken);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>
            inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);

        public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
            ReadFailure is { } failure ? ValueTask.FromException<IReadOnlyList<CounterState>>(failure) : inner.ReadAsync(counters, cancellationToken);
    }
}
