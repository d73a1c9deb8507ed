using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// Reservation slices in <see cref="LeasedBudgetLedger"/>: draws served in memory from a slice held in the ledger, the
/// remainder each draw reports, release on the drawing instance and on another one, and a crashed instance's slice.
/// </summary>
public sealed class LeasedReservationSliceTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey Team = new("team", "2026-11-24");
    private static readonly HoldLine TeamLine = new(Team, new Money(10_000_000), null, AccountingMode.Reserve, Enforcement.Hard);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly InMemoryBudgetLedger _store = new();
    private int _n;

    [Fact]
    public async Task Draws_are_served_from_a_slice_in_memory_and_report_the_exact_remainder()
    {
        var leased = Leased("a");
        await ReserveAsync(leased, "r", 1_000_000);

        long settled = 0;
        for (var i = 0; i < 50; i++)
        {
            var drawn = await DrawAsync(leased, "r", 1_000);
            Assert.Equal(new DrawOutcome(ReservationStatus.Done, new Money(1_000_000 - settled - 1_000)), drawn.Outcome);
            await leased.SettleAsync(drawn.HoldId, new Money(600), 1, default);
            settled += 600;
        }

        // One read and one slice drawn; the store saw neither the draws nor their settlements.
        Assert.Equal(2, leased.LeaseOperations);
        var stored = (await _store.GetReservationAsync("r", null, default))!;
        Assert.Equal((Money.Zero, new Money(125_000)), (stored.Spent, stored.Held));

        // A read on the drawing instance returns its idle slice first: exact.
        var view = (await leased.GetReservationAsync("r", "k", default))!;
        Assert.Equal((new Money(settled), Money.Zero, new Money(1_000_000 - settled)), (view.Spent, view.Held, view.Remaining));
        Assert.Equal(new CounterState(new Money(settled), new Money(1_000_000 - settled), 50, 0), (await _store.ReadAsync([Team], default))[0]);
        Assert.Empty(leased.Violations());
    }

    [Fact]
    public async Task Release_on_the_drawing_instance_returns_exactly_the_unspent_remainder_once_its_draws_in_flight_settle()
    {
        var leased = Leased("a");
        await ReserveAsync(leased, "r", 1_000_000);
        var done = await DrawAsync(leased, "r", 2_000);
        await leased.SettleAsync(done.HoldId, new Money(1_500), 0, default);
        var inFlight = await DrawAsync(leased, "r", 3_000);

        var released = await leased.ReleaseReservationAsync("r", "k", Now, default);
        Assert.Equal(ReservationStatus.Done, released.Status);

        // Nothing more is drawn on it; the slice stays held only until the draw in flight settles.
        Assert.Equal(ReservationStatus.NotLive, (await DrawAsync(leased, "r", 1)).Outcome.Status);
        await leased.SettleAsync(inFlight.HoldId, new Money(2_500), 0, default);
        Assert.Equal(0, leased.ActiveSlices);
        Assert.Equal(new CounterState(new Money(4_000), Money.Zero, 0, 0), (await _store.ReadAsync([Team], default))[0]);
    }

    [Fact]
    public async Task Release_on_another_instance_stops_the_draws_at_the_next_flush_and_returns_the_slice_exactly()
    {
        var a = Leased("a");
        var b = Leased("b");
        await ReserveAsync(a, "r", 1_000_000);
        var drawn = await DrawAsync(b, "r", 2_000);
        await b.SettleAsync(drawn.HoldId, new Money(1_200), 0, default);
        Assert.Equal(1, b.ActiveSlices);

        await a.ReleaseReservationAsync("r", "k", Now, default);

        // B's slice is held until B's next flush pass finds the reservation ended (the documented bound).
        Assert.Equal(new CounterState(Money.Zero, new Money(125_000), 0, 0), (await _store.ReadAsync([Team], default))[0]);
        await b.FlushAsync(default);
        Assert.Equal(0, b.ActiveSlices);
        Assert.Equal(ReservationStatus.NotLive, (await DrawAsync(b, "r", 1)).Outcome.Status);
        Assert.Equal(new CounterState(new Money(1_200), Money.Zero, 0, 0), (await _store.ReadAsync([Team], default))[0]);
    }

    [Fact]
    public async Task A_crashed_instances_slice_expires_charged_in_full_like_a_lease()
    {
        var a = Leased("a");
        var crashed = Leased("b");
        await ReserveAsync(a, "r", 1_000_000);
        var drawn = await DrawAsync(crashed, "r", 2_000);
        await crashed.SettleAsync(drawn.HoldId, new Money(1_200), 0, default);

        // The instance dies without returning its slice: the ledger's hold expiry charges the slice in full.
        _time.Advance(new LeaseOptions().LeaseTtl + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await _store.ExpireAsync(_time.GetUtcNow(), default));
        var view = (await a.GetReservationAsync("r", "k", default))!;
        Assert.Equal((new Money(125_000), Money.Zero, new Money(875_000)), (view.Spent, view.Held, view.Remaining));

        await a.ReleaseReservationAsync("r", "k", _time.GetUtcNow(), default);
        Assert.Equal(new CounterState(new Money(125_000), Money.Zero, 0, 0), (await _store.ReadAsync([Team], default))[0]);
    }

    [Fact]
    public async Task Near_the_end_of_a_reservation_draws_pass_through_and_a_draw_needing_the_own_slice_gets_it_back()
    {
        var leased = Leased("a");
        await ReserveAsync(leased, "r", 80_000);

        // A slice of 10,000 is taken for draws of 1,000; a draw of 75,000 needs the slice's money too.
        var small = await DrawAsync(leased, "r", 1_000);
        await leased.SettleAsync(small.HoldId, new Money(1_000), 0, default);
        Assert.Equal(1, leased.ActiveSlices);
        var big = await DrawAsync(leased, "r", 75_000);
        Assert.Equal(new DrawOutcome(ReservationStatus.Done, new Money(4_000)), big.Outcome);
        Assert.Equal(0, leased.ActiveSlices);

        var refused = await DrawAsync(leased, "r", 4_001);
        Assert.Equal(new DrawOutcome(ReservationStatus.Exhausted, new Money(4_000)), refused.Outcome);
        await leased.SettleAsync(big.HoldId, new Money(70_000), 0, default);
        var view = (await leased.GetReservationAsync("r", "k", default))!;
        Assert.Equal((new Money(71_000), new Money(9_000)), (view.Spent, view.Remaining));
    }

    private LeasedBudgetLedger Leased(string instance) =>
        new(_store, new LeaseOptions { InstanceId = instance }, _time);

    private static async Task ReserveAsync(IReservationLedger ledger, string id, long amount)
    {
        var created = await ledger.CreateReservationAsync(
            new ReservationRequest(id, "k", null, null, new Money(amount), [TeamLine], "team", Now, Now.AddMinutes(15), ReservationLimits.Default), default);
        Assert.Equal(ReservationStatus.Done, created.Status);
    }

    private async Task<(string HoldId, DrawOutcome Outcome)> DrawAsync(LeasedBudgetLedger ledger, string reservation, long amount)
    {
        var id = "d" + _n++;
        var now = _time.GetUtcNow();
        return (id, await ledger.DrawAsync(new DrawRequest(id, reservation, "k", new Money(amount), 1, now, now.AddMinutes(2)), default));
    }
}
