using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

public sealed class LeasedBudgetLedgerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey Org = new("org", "2026-11-24");
    private static readonly CounterKey Task1 = new("task", "lifetime");

    private readonly FakeTimeProvider _time = new(Now);

    [Fact]
    public async Task Requests_with_headroom_are_served_from_one_lease_without_touching_the_inner_ledger_and_flush_exactly()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        for (var i = 0; i < 200; i++)
        {
            var outcome = await leased.ReserveAsync(Hold($"r{i}", 100, 10, Line(Org, 1_000_000), Line(Task1, 500_000)), default);
            Assert.True(outcome.Granted);
            Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync($"r{i}", new Money(60), 6, default));
        }

        // One read and one hold per counter; every request after that stayed in memory.
        Assert.Equal(4, leased.LeaseOperations);
        Assert.Equal(2, leased.ActiveLeases);

        // This instance's own unused lease is its headroom: nothing in flight reads as nothing held (the inner ledger
        // holds the whole lease).
        var view = await leased.ReadAsync([Org, Task1], default);
        Assert.Equal(new CounterState(new Money(12_000), Money.Zero, 1_200, 0), view[0]);
        Assert.Equal(new CounterState(new Money(12_000), Money.Zero, 1_200, 0), view[1]);
        Assert.True((await inner.ReadAsync([Org], default))[0].Held.NanoUsd > 0);

        await leased.DisposeAsync();
        var flushed = await inner.ReadAsync([Org, Task1], default);
        Assert.Equal(new CounterState(new Money(12_000), Money.Zero, 1_200, 0), flushed[0]);
        Assert.Equal(new CounterState(new Money(12_000), Money.Zero, 1_200, 0), flushed[1]);
    }

    [Fact]
    public async Task Several_instances_under_concurrent_load_never_commit_more_than_the_cap_and_flush_to_the_exact_actuals()
    {
        const long Cap = 100_000;
        const long Amount = 100;
        var inner = new CheckedLedger(new InMemoryBudgetLedger(), Org, Cap);
        var instances = Enumerable.Range(0, 3).Select(i => Leased(inner, "i" + i)).ToArray();
        var granted = 0L;
        var actuals = 0L;
        await Parallel.ForAsync(0, 3_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var ledger = instances[i % 3];
            var outcome = await ledger.ReserveAsync(Hold($"r{i}", Amount, 1, Line(Org, Cap)), ct);
            if (outcome.Granted)
            {
                Interlocked.Add(ref granted, Amount);
                var actual = 1 + (i % Amount);
                Interlocked.Add(ref actuals, actual);
                await ledger.SettleAsync($"r{i}", new Money(actual), 1, ct);
            }
        });

        foreach (var instance in instances)
        {
            await instance.DisposeAsync();
        }

        Assert.True(inner.Violations == 0, "the inner counter went above its cap");
        var state = (await inner.ReadAsync([Org], default))[0];
        Assert.Equal(Money.Zero, state.Held);
        Assert.Equal(actuals, state.Spent.NanoUsd);
        Assert.True(state.Spent.NanoUsd <= Cap);
    }

    [Fact]
    public async Task Near_the_cap_requests_pass_through_as_per_request_holds_and_fill_it_exactly()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");

        // 3 worst cases of headroom: below the pass-through threshold, so no lease is taken.
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await leased.ReserveAsync(Hold($"r{i}", 100, 1, Line(Org, 300)), default)).Granted);
        }

        Assert.False((await leased.ReserveAsync(Hold("r3", 1, 1, Line(Org, 300)), default)).Granted);
        Assert.Equal(0, leased.ActiveLeases);
        Assert.Equal(new CounterState(Money.Zero, new Money(300), 0, 3), (await inner.ReadAsync([Org], default))[0]);
        await leased.DisposeAsync();
    }

    [Fact]
    public async Task Posthoc_and_soft_lines_pass_through()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        var post = Line(Org, 1_000_000) with { Mode = AccountingMode.PostHoc };
        var soft = Line(Task1, 1_000_000) with { Enforcement = Enforcement.Soft };
        Assert.True((await leased.ReserveAsync(Hold("p", 100, 1, post), default)).Granted);
        Assert.True((await leased.ReserveAsync(Hold("s", 100, 1, soft), default)).Granted);
        Assert.Equal(0, leased.LeaseOperations);
        Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync("s", new Money(40), 1, default));
        Assert.Equal(new CounterState(new Money(40), Money.Zero, 1, 0), (await inner.ReadAsync([Task1], default))[0]);
        await leased.DisposeAsync();
    }

    [Fact]
    public async Task A_settled_hold_is_remembered_for_the_retention_then_forgotten_and_its_id_cannot_be_reused_meanwhile()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        Assert.True((await leased.ReserveAsync(Hold("r", 100, 1, Line(Org, 1_000_000)), default)).Granted);
        Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync("r", new Money(70), 1, default));

        // Within the retention: a repeat is answered locally and the id is still taken.
        _time.Advance(TimeSpan.FromSeconds(9));
        await leased.FlushAsync(default);
        Assert.Equal(SettleOutcome.AlreadySettled, await leased.SettleAsync("r", new Money(70), 1, default));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await leased.ReserveAsync(Hold("r", 100, 1, Line(Org, 1_000_000)), default));

        // After it: forgotten (memory is bounded by rate × retention), so a repeat goes to the inner ledger, which never saw it.
        _time.Advance(TimeSpan.FromSeconds(2));
        await leased.FlushAsync(default);
        Assert.Equal(SettleOutcome.UnknownHold, await leased.SettleAsync("r", new Money(70), 1, default));
        await leased.DisposeAsync();
    }

    [Fact]
    public async Task A_local_settle_is_idempotent_and_a_repeated_lease_flush_charges_once()
    {
        var inner = new OutageLedger(new InMemoryBudgetLedger());
        var leased = Leased(inner, "a");
        Assert.True((await leased.ReserveAsync(Hold("r", 100, 1, Line(Org, 1_000_000)), default)).Granted);
        Assert.Equal(SettleOutcome.Settled, await leased.SettleAsync("r", new Money(70), 1, default));
        Assert.Equal(SettleOutcome.AlreadySettled, await leased.SettleAsync("r", new Money(70), 1, default));

        // The lease's settlement lands but its answer is lost: it is retried, and the retry changes nothing.
        inner.LoseSettleAnswers = true;
        _time.Advance(TimeSpan.FromSeconds(6));
        await leased.FlushAsync(default);
        inner.LoseSettleAnswers = false;
        await leased.FlushAsync(default);
        await leased.DisposeAsync();
        await leased.DisposeAsync();
        Assert.Equal(70, (await inner.ReadAsync([Org], default))[0].Spent.NanoUsd);
    }

    [Fact]
    public async Task An_idle_lease_is_returned_at_what_was_spent()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        Assert.True((await leased.ReserveAsync(Hold("r", 100, 1, Line(Org, 1_000_000)), default)).Granted);
        await leased.SettleAsync("r", new Money(30), 1, default);
        _time.Advance(TimeSpan.FromSeconds(6));
        await leased.FlushAsync(default);
        Assert.Equal(0, leased.ActiveLeases);
        Assert.Equal(new CounterState(new Money(30), Money.Zero, 1, 0), (await inner.ReadAsync([Org], default))[0]);
        await leased.DisposeAsync();
    }

    [Fact]
    public async Task A_renewal_carries_requests_in_flight_into_the_new_lease_and_settles_the_old_one_at_its_spend()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        Assert.True((await leased.ReserveAsync(Hold("done", 100, 1, Line(Org, 1_000_000)), default)).Granted);
        await leased.SettleAsync("done", new Money(50), 1, default);
        Assert.True((await leased.ReserveAsync(Hold("running", 100, 1, Line(Org, 1_000_000)), default)).Granted);

        _time.Advance(TimeSpan.FromSeconds(16));
        await leased.FlushAsync(default);
        Assert.Equal(1, leased.ActiveLeases);
        var mid = (await inner.ReadAsync([Org], default))[0];
        Assert.Equal(50, mid.Spent.NanoUsd);
        Assert.True(mid.Held.NanoUsd >= 100, "the request in flight must stay covered by a hold");

        await leased.SettleAsync("running", new Money(80), 1, default);
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(130), Money.Zero, 2, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    [Fact]
    public async Task Renewing_many_times_keeps_the_lease_at_one_slice_while_carrying_what_is_in_flight()
    {
        // Far from the cap the slice is the 100,000 maximum; the old code grew the lease by a slice at every renewal.
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        var spent = 0L;
        for (var round = 0; round < 6; round++)
        {
            Assert.True((await leased.ReserveAsync(Hold($"done{round}", 100, 1, Line(Org, 1_000_000_000)), default)).Granted);
            await leased.SettleAsync($"done{round}", new Money(40), 1, default);
            spent += 40;
            Assert.True((await leased.ReserveAsync(Hold($"running{round}", 700, 1, Line(Org, 1_000_000_000)), default)).Granted);

            _time.Advance(TimeSpan.FromSeconds(16));
            await leased.FlushAsync(default);
            await leased.SettleAsync($"running{round}", new Money(500), 1, default);
            spent += 500;

            var state = (await inner.ReadAsync([Org], default))[0];
            Assert.Equal(100_000, state.Held.NanoUsd);
            Assert.Equal(1, leased.ActiveLeases);
        }

        // One read and one hold to start, then a read, a hold and the old lease's settlement per renewal.
        Assert.Equal(2 + (6 * 3), leased.LeaseOperations);
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(spent), Money.Zero, 12, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    [Fact]
    public async Task A_renewal_whose_requests_in_flight_outgrow_a_slice_drains_the_lease_instead_of_enlarging_it()
    {
        // Headroom 8,000: the first lease is 1,000. Three requests of 300 in flight, then the headroom as read (the old
        // lease counted as held) gives a slice of 875: the 900 in flight do not fit it, so the lease drains.
        var inner = new CountingLedger(new InMemoryBudgetLedger());
        var leased = Leased(inner, "a");
        for (var i = 0; i < 4; i++)
        {
            Assert.True((await leased.ReserveAsync(Hold($"r{i}", 300, 1, Line(Org, 1_000_000_000), Line(Task1, 8_000)), default)).Granted);
            await leased.WhenIdleAsync();
        }

        var task = (await inner.ReadAsync([Task1], default))[0];
        Assert.True(task.Held.NanoUsd <= 1_000 + 300, $"task held {task.Held.NanoUsd}: the lease grew");

        // Only the task line ran low and refused; the organisation's lease, with room left, was never renewed.
        Assert.Equal(1, inner.LeaseReserves(Org));
        for (var i = 0; i < 4; i++)
        {
            await leased.SettleAsync($"r{i}", new Money(300), 1, default);
        }

        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(1_200), Money.Zero, 4, 0), (await inner.ReadAsync([Task1], default))[0]);
        Assert.Equal(new CounterState(new Money(1_200), Money.Zero, 4, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    [Fact]
    public async Task A_crashed_instances_lease_expires_charged_in_full_and_a_late_flush_corrects_it()
    {
        var inner = new InMemoryBudgetLedger();
        var leased = Leased(inner, "a");
        Assert.True((await leased.ReserveAsync(Hold("r", 100, 1, Line(Org, 800_000)), default)).Granted);
        await leased.SettleAsync("r", new Money(10), 1, default);

        // The lease (1/8 of the headroom) is charged in full once its TTL passed: never under-counted.
        Assert.Equal(1, await inner.ExpireAsync(Now.AddSeconds(31), default));
        Assert.Equal(100_000, (await inner.ReadAsync([Org], default))[0].Spent.NanoUsd);

        // An instance that was only cut off flushes late: the charge drops to what was spent.
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(10), Money.Zero, 1, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    [Fact]
    public async Task During_an_outage_the_lease_keeps_serving_until_used_up_then_the_outage_surfaces_and_flushes_land_after()
    {
        var inner = new OutageLedger(new InMemoryBudgetLedger());
        var leased = Leased(inner, "a");

        // Lease: 800 / 8 = 100 = ten requests of 10.
        Assert.True((await leased.ReserveAsync(Hold("r0", 10, 1, Line(Org, 800)), default)).Granted);
        await leased.SettleAsync("r0", new Money(10), 1, default);
        inner.Down = true;
        var served = 1;
        for (var i = 1; i < 20; i++)
        {
            try
            {
                Assert.True((await leased.ReserveAsync(Hold($"r{i}", 10, 1, Line(Org, 800)), default)).Granted);
                await leased.SettleAsync($"r{i}", new Money(10), 1, default);
                served++;
            }
            catch (LedgerUnavailableException)
            {
                break;
            }
        }

        Assert.Equal(10, served);
        inner.Down = false;
        await leased.DisposeAsync();
        Assert.Equal(new CounterState(new Money(100), Money.Zero, 10, 0), (await inner.ReadAsync([Org], default))[0]);
    }

    private static HoldLine Line(CounterKey counter, long cap) => new(counter, new Money(cap), null, AccountingMode.Reserve, Enforcement.Hard);

    private HoldRequest Hold(string id, long amount, long tokens, params HoldLine[] lines) =>
        new(id, lines, new Money(amount), tokens, _time.GetUtcNow().AddMinutes(2));

    private LeasedBudgetLedger Leased(IBudgetLedger inner, string instance) =>
        new(inner, new LeaseOptions { InstanceId = instance, MaxLease = new Money(100_000) }, _time);

    /// <summary>Checks spent + held against the cap after every change.</summary>
    private sealed class CheckedLedger(IBudgetLedger inner, CounterKey counter, long cap) : IBudgetLedger
    {
        private int _violations;

        public int Violations => Volatile.Read(ref _violations);

        public async ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
        {
            var outcome = await inner.ReserveAsync(request, cancellationToken);
            await CheckAsync();
            return outcome;
        }

        public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
        {
            var outcome = await inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
            await CheckAsync();
            return outcome;
        }

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.ExpireAsync(now, cancellationToken);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>

            inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);


        public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
            inner.ReadAsync(counters, cancellationToken);

        private async Task CheckAsync()
        {
            var state = (await inner.ReadAsync([counter], default))[0];
            if (state.Spent.NanoUsd + state.Held.NanoUsd > cap)
            {
                Interlocked.Increment(ref _violations);
            }
        }
    }

    /// <summary>Counts the lease holds taken per counter.</summary>
    private sealed class CountingLedger(IBudgetLedger inner) : IBudgetLedger
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<CounterKey, int> _leases = new();

        public int LeaseReserves(CounterKey counter) => _leases.GetValueOrDefault(counter);

        public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
        {
            if (request.HoldId.StartsWith("lease:", StringComparison.Ordinal))
            {
                _leases.AddOrUpdate(request.Lines[0].Counter, 1, (_, n) => n + 1);
            }

            return inner.ReserveAsync(request, cancellationToken);
        }

        public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken) =>
            inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.ExpireAsync(now, cancellationToken);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>

            inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);


        public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
            inner.ReadAsync(counters, cancellationToken);
    }

    /// <summary>An inner ledger whose database can be switched off.</summary>
    private sealed class OutageLedger(IBudgetLedger inner) : IBudgetLedger
    {
        public bool Down { get; set; }

        public bool LoseSettleAnswers { get; set; }

        public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken) =>
            Down ? throw new LedgerUnavailableException("down") : inner.ReserveAsync(request, cancellationToken);

        public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
        {
            if (Down)
            {
                throw new LedgerUnavailableException("down");
            }

            var outcome = await inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
            return LoseSettleAnswers ? throw new LedgerUnavailableException("answer lost") : outcome;
        }

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.ExpireAsync(now, cancellationToken);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>

            inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);


        public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
            Down ? throw new LedgerUnavailableException("down") : inner.ReadAsync(counters, cancellationToken);
    }
}
