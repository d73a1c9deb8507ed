using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// Drives the lease ledger with random reserve / settle / renew / idle / expire sequences on a fake clock and checks,
/// after every step, that every lease it took kept the sizing rule (at most min(max lease, headroom / 8) of the counter
/// as read just before, and none within 4 worst cases of the cap), that this instance never has more than one live
/// lease per counter once quiet, that every lease slot keeps its invariants (<see cref="LeaseSlot"/>), and that the shared counter never went over its cap; at the end, held returns to 0
/// and spent is never below what was really spent.
/// </summary>
public sealed class LeaseSizingPropertyTests
{
    private const long MaxLease = 50_000;
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey[] Counters = [new("org", "d"), new("team", "d"), new("task", "lifetime")];

    private static readonly Gen<Step> StepGen = Gen.Frequency(
        (8, Gen.Select(Gen.Int[1, 7], Gen.Long[1, 4_000], (mask, amount) => new Step(StepKind.Reserve, mask, amount))),
        (6, Gen.Select(Gen.Int[0, 1_000], Gen.Long[0, 100], (pick, percent) => new Step(StepKind.Settle, pick, percent))),
        (1, Gen.Int[1, 20].Select(s => new Step(StepKind.Renew, s, 0))),
        (1, Gen.Int[0, 7].Select(s => new Step(StepKind.Idle, s, 0))),
        (1, Gen.Int[31, 90].Select(s => new Step(StepKind.Expire, s, 0))));

    private static readonly Gen<(long[] Caps, Step[] Steps)> Scenario = Gen.Select(
        Gen.Long[2_000, 2_000_000].Array[3],
        StepGen.Array[1, 120]);

    [Fact]
    public async Task Every_lease_keeps_its_size_and_the_counters_their_caps_whatever_the_sequence()
    {
        await Scenario.SampleAsync(RunAsync, iter: 300, threads: 1);
    }

    private static async Task RunAsync((long[] Caps, Step[] Steps) scenario)
    {
        var time = new FakeTimeProvider(Start);
        var caps = scenario.Caps;
        var inner = new Observed(new InMemoryBudgetLedger(), caps);
        var leased = new LeasedBudgetLedger(inner, new LeaseOptions { InstanceId = "p", MaxLease = new Money(MaxLease) }, time);
        var open = new List<(string Id, long Amount, long Mask, DateTimeOffset ExpiresAt)>();
        var actualSpent = new long[Counters.Length];
        var n = 0;
        try
        {
            foreach (var step in scenario.Steps)
            {
                switch (step.Kind)
                {
                    case StepKind.Reserve:
                        var lines = new List<HoldLine>();
                        for (var c = 0; c < Counters.Length; c++)
                        {
                            if ((step.A & (1 << c)) != 0)
                            {
                                lines.Add(new HoldLine(Counters[c], new Money(caps[c]), null, AccountingMode.Reserve, Enforcement.Hard));
                                inner.SawWorstCase(c, step.B);
                            }
                        }

                        var id = "r" + n++;
                        var expiresAt = time.GetUtcNow().AddSeconds(30);
                        var outcome = await leased.ReserveAsync(new HoldRequest(id, lines, new Money(step.B), 1, expiresAt), default);
                        if (outcome.Granted)
                        {
                            open.Add((id, step.B, step.A, expiresAt));
                        }

                        break;

                    case StepKind.Settle when open.Count > 0:
                        var hold = open[(int)(step.A % open.Count)];
                        open.Remove(hold);
                        var actual = hold.Amount * step.B / 100;
                        var settled = await leased.SettleAsync(hold.Id, new Money(actual), 1, default);
                        // A hold settled long after it expired may be forgotten: it stays charged in full.
                        Assert.True(settled != SettleOutcome.UnknownHold || time.GetUtcNow() > hold.ExpiresAt, $"{hold.Id} unknown");
                        Charge(actualSpent, hold.Mask, actual);
                        break;

                    case StepKind.Renew:
                        time.Advance(TimeSpan.FromSeconds(step.A));
                        await leased.FlushAsync(default);
                        break;

                    case StepKind.Idle:
                        time.Advance(TimeSpan.FromSeconds(step.A));
                        await leased.FlushAsync(default);
                        break;

                    case StepKind.Expire:
                        time.Advance(TimeSpan.FromSeconds(step.A));
                        await leased.ExpireAsync(time.GetUtcNow(), default);
                        break;
                }

                await leased.WhenIdleAsync();
                await inner.CheckAsync(quiet: true);
                Assert.Empty(leased.Violations());
            }

            foreach (var hold in open)
            {
                await leased.SettleAsync(hold.Id, new Money(hold.Amount / 2), 1, default);
                Charge(actualSpent, hold.Mask, hold.Amount / 2);
            }
        }
        finally
        {
            await leased.DisposeAsync();
        }

        await inner.CheckAsync(quiet: true);
        var states = await inner.ReadAsync(Counters, default);
        for (var c = 0; c < Counters.Length; c++)
        {
            Assert.Equal(Money.Zero, states[c].Held);
            Assert.True(states[c].Spent.NanoUsd <= caps[c], $"{Counters[c]} spent {states[c].Spent} over its cap {caps[c]}");
            Assert.True(states[c].Spent.NanoUsd >= actualSpent[c], $"{Counters[c]} spent {states[c].Spent} under the {actualSpent[c]} really spent");
        }

        Assert.Empty(inner.LiveLeases);
    }

    private static void Charge(long[] spent, long mask, long actual)
    {
        for (var c = 0; c < spent.Length; c++)
        {
            if ((mask & (1 << c)) != 0)
            {
                spent[c] += actual;
            }
        }
    }

    private enum StepKind
    {
        Reserve,
        Settle,
        Renew,
        Idle,
        Expire,
    }

    private readonly record struct Step(StepKind Kind, long A, long B);

    /// <summary>The shared ledger, watched: checks each lease hold against the counter as the lease ledger read it just before.</summary>
    private sealed class Observed(IBudgetLedger inner, long[] caps) : IBudgetLedger
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<CounterKey, CounterState> _lastRead = [];
        private readonly long[] _worst = new long[Counters.Length];
        private readonly List<string> _violations = [];

        public Dictionary<string, CounterKey> LiveLeases { get; } = new(StringComparer.Ordinal);

        public void SawWorstCase(int counter, long amount)
        {
            lock (_gate)
            {
                _worst[counter] = Math.Max(_worst[counter], amount);
            }
        }

        public async ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
        {
            var outcome = await inner.ReserveAsync(request, cancellationToken);
            if (!request.HoldId.StartsWith("lease:", StringComparison.Ordinal))
            {
                return outcome;
            }

            var counter = request.Lines[0].Counter;
            var c = Array.IndexOf(Counters, counter);
            lock (_gate)
            {
                var read = _lastRead[counter];
                var headroom = caps[c] - read.Spent.NanoUsd - read.Held.NanoUsd;
                var allowed = Math.Min(MaxLease, headroom / 8);
                if (request.Amount.NanoUsd > allowed)
                {
                    _violations.Add($"lease {request.HoldId} of {request.Amount.NanoUsd} over min({MaxLease}, {headroom}/8)");
                }

                if (headroom < 4 * _worst[c])
                {
                    _violations.Add($"lease {request.HoldId} taken with headroom {headroom} under 4 worst cases of {_worst[c]}");
                }

                if (outcome.Granted)
                {
                    LiveLeases[request.HoldId] = counter;
                }
            }

            return outcome;
        }

        public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
        {
            var outcome = await inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
            lock (_gate)
            {
                LiveLeases.Remove(holdId);
            }

            return outcome;
        }

        public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.ExpireAsync(now, cancellationToken);

        public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>

            inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);


        public async ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
        {
            var states = await inner.ReadAsync(counters, cancellationToken);
            lock (_gate)
            {
                for (var i = 0; i < counters.Count; i++)
                {
                    _lastRead[counters[i]] = states[i];
                }
            }

            return states;
        }

        public async Task CheckAsync(bool quiet)
        {
            var states = await inner.ReadAsync(Counters, default);
            lock (_gate)
            {
                for (var c = 0; c < Counters.Length; c++)
                {
                    if (states[c].Spent.NanoUsd + states[c].Held.NanoUsd > caps[c])
                    {
                        _violations.Add($"{Counters[c]}: spent {states[c].Spent} + held {states[c].Held} over the cap {caps[c]}");
                    }
                }

                if (quiet)
                {
                    foreach (var group in LiveLeases.GroupBy(l => l.Value))
                    {
                        if (group.Count() > 1)
                        {
                            _violations.Add($"{group.Key} has {group.Count()} live leases");
                        }
                    }
                }

                Assert.True(_violations.Count == 0, string.Join("; ", _violations));
            }
        }
    }
}
