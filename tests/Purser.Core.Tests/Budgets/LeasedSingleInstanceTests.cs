using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// One instance alone on its ledger (the default SQLite gateway): its reads and its grants' states are exact —
/// cap − spent − what is in flight — although the inner ledger holds its whole lease, and a request is refused only
/// when the cap really cannot take it (a lease with nothing in flight is returned to make room).
/// </summary>
public sealed class LeasedSingleInstanceTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey Key = new("key", "2026-11-24");

    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public async Task Reads_and_grant_states_are_cap_less_spent_less_in_flight_through_renewals()
    {
        const long cap = 10_000_000;
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner);
        var spent = 0L;
        var settled = 0L;
        var inFlight = new Queue<(string Id, long Amount)>();
        for (var i = 0; i < 120; i++)
        {
            var outcome = await leased.ReserveAsync(Hold($"r{i}", 1_000 + i, Line(cap)), default);
            Assert.True(outcome.Granted);
            inFlight.Enqueue(($"r{i}", 1_000 + i));
            var held = inFlight.Sum(h => h.Amount);

            // The grant's view (what the budget headers read) and a fresh read agree with the truth.
            var truth = new CounterState(new Money(spent), new Money(held), settled, inFlight.Count);
            Assert.Equal(truth, outcome.States[0]);
            Assert.Equal(truth, (await leased.ReadAsync([Key], default))[0]);

            if (inFlight.Count > 3)
            {
                var (id, amount) = inFlight.Dequeue();
                Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync(id, new Money(amount / 2), 1, default));
                spent += amount / 2;
                settled++;
            }

            if (i % 30 == 29)
            {
                // A renewal: a new lease, the old one settled; the next grant's state must still be exact.
                _time.Advance(TimeSpan.FromSeconds(16));
                await leased.FlushAsync(default);
                Assert.Equal(1, leased.ActiveLeases);
            }
        }

        Assert.True(leased.LeaseOperations < 20, $"{leased.LeaseOperations} lease operations: the requests did not stay in memory");
        while (inFlight.TryDequeue(out var left))
        {
            await leased.SettleAsync(left.Id, new Money(left.Amount / 2), 1, default);
            spent += left.Amount / 2;
            settled++;
        }

        Assert.Equal(new CounterState(new Money(spent), Money.Zero, settled, 0), (await leased.ReadAsync([Key], default))[0]);
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(spent), Money.Zero, settled, 0), (await inner.ReadAsync([Key], default))[0]);
    }

    [Fact]
    public async Task A_request_the_cap_can_take_is_not_refused_because_of_the_instances_own_unused_lease()
    {
        // Cap 8,000: the first request takes a lease of 1,000 (headroom / 8). A request of 7,500 does not fit that lease;
        // the inner ledger alone would refuse it (1,000 held + 7,500 > 8,000), though the cap has room for it.
        const long cap = 8_000;
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner);
        Assert.True((await leased.ReserveAsync(Hold("small", 100, Line(cap)), default)).Granted);
        await leased.SettleAsync("small", new Money(100), 1, default);
        Assert.Equal(1, leased.ActiveLeases);

        var big = await leased.ReserveAsync(Hold("big", 7_500, Line(cap)), default);
        Assert.True(big.Granted);
        Assert.Equal(new CounterState(new Money(100), new Money(7_500), 1, 1), big.States[0]);
        Assert.Equal(0, leased.ActiveLeases);

        // Reserve mode's bound is exact: 400 are left, 401 is refused, 400 admitted.
        Assert.False((await leased.ReserveAsync(Hold("over", 401, Line(cap)), default)).Granted);
        Assert.True((await leased.ReserveAsync(Hold("last", 400, Line(cap)), default)).Granted);
        var state = (await inner.ReadAsync([Key], default))[0];
        Assert.Equal(cap, state.Spent.NanoUsd + state.Held.NanoUsd);

        await leased.SettleAsync("big", new Money(7_000), 1, default);
        await leased.SettleAsync("last", new Money(400), 1, default);
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(7_500), Money.Zero, 3, 0), (await inner.ReadAsync([Key], default))[0]);
    }

    private static HoldLine Line(long cap) => new(Key, new Money(cap), null, AccountingMode.Reserve, Enforcement.Hard);

    private HoldRequest Hold(string id, long amount, HoldLine line) => new(id, [line], new Money(amount), 1, _time.GetUtcNow().AddMinutes(2));

    private LeasedBudgetLedger Leased(IBudgetLedger inner) =>
        new(inner, new LeaseOptions { InstanceId = "solo", MaxLease = new Money(100_000) }, _time);
}
