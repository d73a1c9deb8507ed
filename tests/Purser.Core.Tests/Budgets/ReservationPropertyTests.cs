using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// Random sequences of reserve / split / draw / settle / release / expire / outside holds on a fake clock: after every
/// step, spent + held stays within every cap, and no reservation has promised more than it has (its spend, its own
/// draws in flight and its children's claims never exceed its amount). At the end, with every draw settled and every
/// reservation released, nothing is held and spent is exactly what the draws and holds were charged.
/// The second property runs the same steps through three <see cref="LeasedBudgetLedger"/> instances sharing one store,
/// with reservation slices on (a slice is a few worst cases, so draws are local, renewals and pass-through both happen),
/// plus flush passes; each step runs on the instance it names, and a draw is settled on the instance that admitted it.
/// </summary>
public sealed class ReservationPropertyTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey[] Counters = [new("team", "d"), new("key", "d")];

    private enum Kind
    {
        Reserve,
        Split,
        Draw,
        Settle,
        Release,
        Advance,
        Outside,
        Flush,
    }

    private readonly record struct Step(Kind Kind, int Pick, long Amount)
    {
        public int At => Pick / 7;
    }

    private static readonly Gen<Step> StepGen = Gen.Frequency(
        (3, Gen.Select(Gen.Int[1, 3], Gen.Long[1, 3_000], (mask, amount) => new Step(Kind.Reserve, mask, amount))),
        (4, Gen.Select(Gen.Int[0, 1_000], Gen.Long[1, 1_500], (pick, amount) => new Step(Kind.Split, pick, amount))),
        (6, Gen.Select(Gen.Int[0, 1_000], Gen.Long[0, 800], (pick, amount) => new Step(Kind.Draw, pick, amount))),
        (5, Gen.Select(Gen.Int[0, 1_000], Gen.Long[0, 100], (pick, percent) => new Step(Kind.Settle, pick, percent))),
        (2, Gen.Int[0, 1_000].Select(pick => new Step(Kind.Release, pick, 0))),
        (2, Gen.Int[1, 400].Select(seconds => new Step(Kind.Advance, 0, seconds))),
        (2, Gen.Long[1, 2_000].Select(amount => new Step(Kind.Outside, 0, amount))),
        (2, Gen.Int[0, 1_000].Select(pick => new Step(Kind.Flush, pick, 0))));

    private static readonly Gen<(long[] Caps, Step[] Steps)> Scenario = Gen.Select(Gen.Long[1_000, 20_000].Array[2], StepGen.Array[1, 80]);

    [Fact]
    public async Task Spent_plus_held_stays_within_every_cap_and_children_within_their_parent()
    {
        await Scenario.SampleAsync(async scenario => await RunAsync(scenario, instances: 0), iter: 300, threads: 1);
    }

    [Fact]
    public async Task With_slices_on_three_instances_spent_plus_held_stays_within_every_cap_and_children_within_their_parent()
    {
        var sliced = 0;
        await Scenario.SampleAsync(async scenario => sliced += await RunAsync(scenario, instances: 3), iter: 300, threads: 1);
        Assert.True(sliced > 0, "no step ever drew on a slice");
    }

    /// <summary>Runs the steps on the store itself (<paramref name="instances"/> 0), or on that many leased instances over it; returns the steps after which a slice was held.</summary>
    private static async Task<int> RunAsync((long[] Caps, Step[] Steps) scenario, int instances)
    {
        var time = new FakeTimeProvider(Start);
        var store = new InMemoryBudgetLedger();
        var options = new LeaseOptions { MaxLease = new Money(1_200), Divisor = 3, PassThroughWorstCases = 2, InstanceId = "i" };
        var leased = Enumerable.Range(0, instances)
            .Select(i => new LeasedBudgetLedger(store, options with { InstanceId = "i" + i }, time)).ToArray();
        IReservationLedger[] ledgers = instances == 0 ? [store] : leased;
        var caps = scenario.Caps;
        var nodes = new List<string>();
        var draws = new List<(string Id, long Amount, IReservationLedger At, int Mask)>();
        var holds = new List<(string Id, long Amount)>();
        var masks = new Dictionary<string, int>();
        var charged = new long[Counters.Length];
        var advanced = false;
        var sliced = 0;
        var n = 0;
        foreach (var step in scenario.Steps)
        {
            var now = time.GetUtcNow();
            var ledger = ledgers[step.At % ledgers.Length];
            switch (step.Kind)
            {
                case Kind.Reserve:
                    var lines = Lines(caps, step.Pick);
                    var root = await ledger.CreateReservationAsync(
                        new ReservationRequest("r" + n++, "k", null, null, new Money(step.Amount), lines, "p", now, now.AddSeconds(600), ReservationLimits.Default), default);
                    if (root.Status == ReservationStatus.Done)
                    {
                        nodes.Add(root.Reservation!.Id);
                        masks[root.Reservation.Id] = step.Pick;
                    }

                    break;

                case Kind.Split when nodes.Count > 0:
                    var child = await ledger.CreateReservationAsync(
                        new ReservationRequest("r" + n++, "k", null, nodes[step.Pick % nodes.Count], new Money(step.Amount), [], "p", now, now.AddSeconds(300), ReservationLimits.Default), default);
                    if (child.Status == ReservationStatus.Done)
                    {
                        nodes.Add(child.Reservation!.Id);
                        masks[child.Reservation.Id] = masks[nodes[step.Pick % (nodes.Count - 1)]];
                    }

                    break;

                case Kind.Draw when nodes.Count > 0:
                    var id = "d" + n++;
                    var draw = await ledger.DrawAsync(new DrawRequest(id, nodes[step.Pick % nodes.Count], "k", new Money(step.Amount), 1, now, now.AddSeconds(120)), default);
                    if (draw.Status == ReservationStatus.Done)
                    {
                        draws.Add((id, step.Amount, ledger, masks[nodes[step.Pick % nodes.Count]]));
                    }

                    break;

                case Kind.Settle when draws.Count > 0:
                    var (drawId, worst, drewOn, mask) = draws[step.Pick % draws.Count];
                    draws.RemoveAt(step.Pick % draws.Count);
                    Charge(charged, mask, worst * step.Amount / 100);
                    await ((IBudgetLedger)drewOn).SettleAsync(drawId, new Money(worst * step.Amount / 100), 0, default);
                    break;

                case Kind.Release when nodes.Count > 0:
                    await ledger.ReleaseReservationAsync(nodes[step.Pick % nodes.Count], "k", now, default);
                    break;

                case Kind.Advance:
                    time.Advance(TimeSpan.FromSeconds(step.Amount));
                    advanced = true;
                    foreach (var each in ledgers)
                    {
                        await ((IBudgetLedger)each).ExpireAsync(time.GetUtcNow(), default);
                        await each.ExpireReservationsAsync(time.GetUtcNow(), default);
                    }

                    break;

                case Kind.Flush when instances > 0:
                    await leased[step.At % leased.Length].FlushAsync(default);
                    break;

                case Kind.Outside:
                    var holdId = "h" + n++;
                    if ((await ((IBudgetLedger)ledger).ReserveAsync(new HoldRequest(holdId, Lines(caps, 3), new Money(step.Amount), 0, DateTimeOffset.MaxValue), default)).Granted)
                    {
                        holds.Add((holdId, step.Amount));
                    }

                    break;
            }

            // Renewals a step started in the background finish before the next step (the steps stay reproducible).
            await Task.WhenAll(leased.Select(each => each.WhenIdleAsync()));
            sliced += leased.Any(each => each.ActiveSlices > 0) ? 1 : 0;
            await AssertInvariantsAsync(store, caps, leased);
        }

        foreach (var (id, worst, drewOn, mask) in draws)
        {
            Charge(charged, mask, worst / 2);
            await ((IBudgetLedger)drewOn).SettleAsync(id, new Money(worst / 2), 0, default);
        }

        foreach (var (id, amount) in holds)
        {
            Charge(charged, 3, amount);
            await ((IBudgetLedger)ledgers[0]).SettleAsync(id, new Money(amount), 0, default);
        }

        for (var i = 0; i < nodes.Count; i++)
        {
            await ledgers[i % ledgers.Length].ReleaseReservationAsync(nodes[i], "k", time.GetUtcNow(), default);
        }

        // Another instance's slice of a released reservation goes back at its next flush pass.
        await Task.WhenAll(leased.Select(each => each.WhenIdleAsync()));
        foreach (var each in leased)
        {
            await each.FlushAsync(default);
        }

        foreach (var each in leased)
        {
            Assert.Equal(0, each.ActiveSlices);
            await each.DisposeAsync(); // returns the leases the outside holds took
        }

        await AssertInvariantsAsync(store, caps, leased);
        var states = await store.ReadAsync(Counters, default);
        foreach (var state in states)
        {
            Assert.Equal(Money.Zero, state.Held);
        }

        for (var c = 0; c < Counters.Length; c++)
        {
            // Nothing expired: spent is exactly what was charged. Expiry charges a draw (or a slice) in full, and a draw
            // corrected after its slice was renewed stays charged in full: never less.
            Assert.True(advanced ? states[c].Spent.NanoUsd >= charged[c] : states[c].Spent.NanoUsd == charged[c], $"{Counters[c]}: spent {states[c].Spent.NanoUsd}, charged {charged[c]}");
        }

        return sliced;

    }

    private static void Charge(long[] charged, int mask, long amount)
    {
        for (var c = 0; c < charged.Length; c++)
        {
            charged[c] += (mask & (1 << c)) != 0 ? amount : 0;
        }
    }

    private static HoldLine[] Lines(long[] caps, int mask)
    {
        var lines = new List<HoldLine>();
        for (var c = 0; c < Counters.Length; c++)
        {
            if ((mask & (1 << c)) != 0)
            {
                lines.Add(new HoldLine(Counters[c], new Money(caps[c]), null, AccountingMode.Reserve, Enforcement.Hard));
            }
        }

        return [.. lines];
    }

    private static async Task AssertInvariantsAsync(InMemoryBudgetLedger ledger, long[] caps, LeasedBudgetLedger[] leased)
    {
        foreach (var each in leased)
        {
            Assert.Empty(each.Violations());
        }

        var states = await ledger.ReadAsync(Counters, default);
        for (var c = 0; c < Counters.Length; c++)
        {
            Assert.True(states[c].Spent.NanoUsd + states[c].Held.NanoUsd <= caps[c], $"{Counters[c]}: {states[c]} over cap {caps[c]}");
            Assert.True(states[c].Held.NanoUsd >= 0);
        }

        foreach (var tree in await ledger.ListReservationsAsync(null, liveOnly: false, 10_000, default))
        {
            AssertWithinParent(tree);
        }
    }

    private static void AssertWithinParent(ReservationView node)
    {
        var used = node.Spent.NanoUsd + node.Held.NanoUsd;
        foreach (var child in node.Children)
        {
            // Spend and draws in flight below a child are already in node.Spent / node.Held; a live child also claims its unspent share.
            used += child.State == ReservationState.Live ? Math.Max(0, child.Amount.NanoUsd - child.Spent.NanoUsd - child.Held.NanoUsd) : 0;
            AssertWithinParent(child);
        }

        if (node.State == ReservationState.Live)
        {
            Assert.True(used <= node.Amount.NanoUsd, $"{node.Id} promised {used} of {node.Amount.NanoUsd}");
        }

        Assert.True(node.Remaining.NanoUsd >= 0 && node.Spent.NanoUsd >= 0 && node.Held.NanoUsd >= 0);
    }
}
