using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IReservationLedger"/>, run against every ledger that runs the hold contract.</summary>
public abstract partial class LedgerContractTests
{
    protected static readonly DateTimeOffset ReservationExpiry = Now.AddMinutes(15);

    private static IReservationLedger Reservations(IBudgetLedger ledger) =>
        Assert.IsAssignableFrom<IReservationLedger>(ledger);

    protected static ReservationRequest Root(string id, long amount, params HoldLine[] lines) =>
        new(id, "key-a", "root " + id, null, new Money(amount), lines, "test", Now, ReservationExpiry, ReservationLimits.Default);

    protected static ReservationRequest Child(string id, string parent, long amount, string key = "key-a", DateTimeOffset? expiresAt = null) =>
        new(id, key, null, parent, new Money(amount), [], "test", Now, expiresAt ?? ReservationExpiry, ReservationLimits.Default);

    private static DrawRequest Draw(string holdId, string reservation, long amount, string key = "key-a", DateTimeOffset? now = null) =>
        new(holdId, reservation, key, new Money(amount), 10, now ?? Now, Expiry);

    [Fact]
    public async Task Reservation_that_does_not_fit_is_refused_and_holds_nothing()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await ReserveAsync(ledger, Hold("h", 600, 0, Line("team", 1_000)));

        var outcome = await rl.CreateReservationAsync(Root("r1", 401, Line("org", 10_000), Line("team", 1_000)), CancellationToken.None);

        Assert.Equal(ReservationStatus.DoesNotFit, outcome.Status);
        Assert.Equal(1, outcome.Hold!.Value.DeniedLine);
        Assert.Equal(State(0, 0), await ReadAsync(ledger, "org"));
        Assert.Equal(State(0, 600), await ReadAsync(ledger, "team"));
        Assert.Null(await rl.GetReservationAsync("r1", null, CancellationToken.None));
    }

    [Fact]
    public async Task Reservation_holds_its_amount_on_every_line_so_other_holds_cannot_take_it()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);

        var created = await rl.CreateReservationAsync(Root("r1", 400, Line("org", 10_000), Line("team", 1_000)), CancellationToken.None);

        Assert.Equal(ReservationStatus.Done, created.Status);
        Assert.Equal(new Money(400), created.Reservation!.Remaining);
        Assert.Equal(State(0, 400), await ReadAsync(ledger, "team"));
        Assert.False((await ReserveAsync(ledger, Hold("other", 601, 0, Line("team", 1_000)))).Granted);
        Assert.True((await ReserveAsync(ledger, Hold("fits", 600, 0, Line("team", 1_000)))).Granted);
    }

    [Fact]
    public async Task Draws_take_their_hold_from_the_remainder_and_settlement_moves_the_cost_from_held_to_spent()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r1", 1_000, Line("team", 5_000)), CancellationToken.None);

        var first = await rl.DrawAsync(Draw("d1", "r1", 700), CancellationToken.None);
        var second = await rl.DrawAsync(Draw("d2", "r1", 301), CancellationToken.None);

        Assert.Equal(new DrawOutcome(ReservationStatus.Done, new Money(300)), first);
        Assert.Equal(new DrawOutcome(ReservationStatus.Exhausted, new Money(300)), second);
        Assert.Equal(State(0, 1_000), await ReadAsync(ledger, "team"));

        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "d1", 250, 7));
        Assert.Equal(SettleOutcome.AlreadySettled, await SettleAsync(ledger, "d1", 250, 7));
        Assert.Equal(State(250, 750, 7, 0), await ReadAsync(ledger, "team"));
        var view = (await rl.GetReservationAsync("r1", "key-a", CancellationToken.None))!;
        Assert.Equal((new Money(250), Money.Zero, new Money(750)), (view.Spent, view.Held, view.Remaining));
    }

    [Fact]
    public async Task Children_are_carved_from_the_parent_and_spend_rolls_up_to_every_ancestor()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);

        Assert.Equal(ReservationStatus.Done, (await rl.CreateReservationAsync(Child("a", "r", 600), CancellationToken.None)).Status);
        var tooBig = await rl.CreateReservationAsync(Child("b", "r", 401), CancellationToken.None);
        Assert.Equal((ReservationStatus.DoesNotFit, new Money(400)), (tooBig.Status, tooBig.Available));
        Assert.Equal(ReservationStatus.Done, (await rl.CreateReservationAsync(Child("a1", "a", 100), CancellationToken.None)).Status);

        Assert.Equal(ReservationStatus.Done, (await rl.DrawAsync(Draw("d", "a1", 100), CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Exhausted, (await rl.DrawAsync(Draw("d2", "a1", 1), CancellationToken.None)).Status);
        await SettleAsync(ledger, "d", 40, 1);

        var root = (await rl.GetReservationAsync("r", null, CancellationToken.None))!;
        Assert.Equal((new Money(40), new Money(400)), (root.Spent, root.Remaining));
        var a = Assert.Single(root.Children);
        Assert.Equal((new Money(40), new Money(500)), (a.Spent, a.Remaining));
        Assert.Equal((new Money(40), new Money(60)), (a.Children[0].Spent, a.Children[0].Remaining));
        Assert.Equal(State(40, 960, 1, 0), await ReadAsync(ledger, "team"));
    }

    [Fact]
    public async Task Release_returns_exactly_the_unspent_remainder_children_first()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000), Line("org", null)), CancellationToken.None);
        await rl.CreateReservationAsync(Child("a", "r", 300), CancellationToken.None);
        await rl.DrawAsync(Draw("d", "a", 200), CancellationToken.None);
        await SettleAsync(ledger, "d", 120, 3);

        var child = await rl.ReleaseReservationAsync("a", "key-a", Now, CancellationToken.None);
        Assert.Equal(ReservationStatus.Done, child.Status);
        Assert.Equal(new Money(180), Assert.Single(child.Ended).Remaining);
        Assert.Equal(new Money(880), (await rl.GetReservationAsync("r", null, CancellationToken.None))!.Remaining);
        Assert.Equal(ReservationStatus.NotLive, (await rl.DrawAsync(Draw("late", "a", 1), CancellationToken.None)).Status);

        await rl.CreateReservationAsync(Child("b", "r", 100), CancellationToken.None);
        var all = await rl.ReleaseReservationAsync("r", "key-a", Now, CancellationToken.None);
        Assert.Equal(["b", "r"], all.Ended.Select(e => e.Id));
        Assert.Equal(State(120, 0, 3, 0), await ReadAsync(ledger, "team"));
        Assert.Equal(State(120, 0, 3, 0), await ReadAsync(ledger, "org"));
        Assert.Equal(ReservationStatus.NotLive, (await rl.ReleaseReservationAsync("r", "key-a", Now, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_draw_in_flight_at_release_keeps_its_worst_case_held_until_it_settles()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);
        await rl.DrawAsync(Draw("d", "r", 300), CancellationToken.None);

        await rl.ReleaseReservationAsync("r", "key-a", Now, CancellationToken.None);
        Assert.Equal(State(0, 300), await ReadAsync(ledger, "team"));

        await SettleAsync(ledger, "d", 100, 1);
        Assert.Equal(State(100, 0, 1, 0), await ReadAsync(ledger, "team"));
    }

    [Fact]
    public async Task Expiry_ends_reservations_on_time_and_returns_the_unspent_remainder()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);
        await rl.CreateReservationAsync(Child("a", "r", 400, expiresAt: Now.AddMinutes(5)), CancellationToken.None);
        await rl.DrawAsync(Draw("d", "a", 100), CancellationToken.None);
        await SettleAsync(ledger, "d", 100, 0);

        Assert.Empty((await rl.ExpireReservationsAsync(Now.AddMinutes(5).AddMilliseconds(-1), CancellationToken.None)).Ended);
        var first = await rl.ExpireReservationsAsync(Now.AddMinutes(5), CancellationToken.None);
        Assert.Equal(["a"], first.Ended.Select(e => e.Id));
        Assert.Equal(new Money(900), (await rl.GetReservationAsync("r", null, CancellationToken.None))!.Remaining);
        Assert.Equal(ReservationStatus.NotLive, (await rl.DrawAsync(Draw("d2", "a", 1, now: Now.AddMinutes(5)), CancellationToken.None)).Status);

        var second = await rl.ExpireReservationsAsync(ReservationExpiry, CancellationToken.None);
        var root = Assert.Single(second.Ended);
        Assert.Equal((ReservationState.Live, new Money(900)), (root.State, root.Remaining));
        Assert.Equal(ReservationState.Expired, (await rl.GetReservationAsync("r", null, CancellationToken.None))!.State);
        Assert.Equal(State(100, 0), await ReadAsync(ledger, "team"));
    }

    [Fact]
    public async Task A_draw_never_settled_is_charged_in_full_by_hold_expiry_and_a_late_settlement_corrects_it()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);
        await rl.DrawAsync(Draw("d", "r", 300), CancellationToken.None);

        Assert.Equal(1, await ledger.ExpireAsync(Expiry, CancellationToken.None));
        Assert.Equal(State(300, 700, 10, 0), await ReadAsync(ledger, "team"));
        Assert.Equal(new Money(700), (await rl.GetReservationAsync("r", null, CancellationToken.None))!.Remaining);

        Assert.Equal(SettleOutcome.CorrectedAfterExpiry, await SettleAsync(ledger, "d", 50, 2));
        Assert.Equal(State(50, 950, 2, 0), await ReadAsync(ledger, "team"));
        Assert.Equal(new Money(950), (await rl.GetReservationAsync("r", null, CancellationToken.None))!.Remaining);
    }

    [Fact]
    public async Task Unknown_ids_other_keys_and_expired_reservations_are_refused_with_nothing_held()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);

        Assert.Equal(ReservationStatus.Unknown, (await rl.DrawAsync(Draw("d1", "nope", 1), CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Unknown, (await rl.DrawAsync(Draw("d2", "r", 1, key: "key-b"), CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.NotLive, (await rl.DrawAsync(Draw("d3", "r", 1, now: ReservationExpiry), CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Unknown, (await rl.CreateReservationAsync(Child("c", "r", 1, key: "key-b"), CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Unknown, (await rl.ReleaseReservationAsync("r", "key-b", Now, CancellationToken.None)).Status);
        Assert.Null(await rl.GetReservationAsync("r", "key-b", CancellationToken.None));
        Assert.Equal(SettleOutcome.UnknownHold, await SettleAsync(ledger, "d2", 1, 1));
        Assert.Equal(new Money(1_000), (await rl.GetReservationAsync("r", "key-a", CancellationToken.None))!.Remaining);
        Assert.Equal(State(0, 1_000), await ReadAsync(ledger, "team"));
    }

    [Fact]
    public async Task Trees_are_bounded_in_depth_and_size()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        var limits = new ReservationLimits(2, 4);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)) with { Limits = limits }, CancellationToken.None);
        Assert.Equal(ReservationStatus.Done, (await rl.CreateReservationAsync(Child("a", "r", 10) with { Limits = limits }, CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Done, (await rl.CreateReservationAsync(Child("b", "a", 10) with { Limits = limits }, CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.TooLarge, (await rl.CreateReservationAsync(Child("c", "b", 1) with { Limits = limits }, CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.Done, (await rl.CreateReservationAsync(Child("d", "r", 10) with { Limits = limits }, CancellationToken.None)).Status);
        Assert.Equal(ReservationStatus.TooLarge, (await rl.CreateReservationAsync(Child("e", "r", 1) with { Limits = limits }, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Parallel_draws_on_sibling_shares_never_exceed_a_share_or_the_parent()
    {
        var ledger = await CreateLedgerAsync();
        var rl = Reservations(ledger);
        await rl.CreateReservationAsync(Root("r", 1_000, Line("team", 5_000)), CancellationToken.None);
        for (var s = 0; s < 5; s++)
        {
            await rl.CreateReservationAsync(Child("s" + s, "r", 200), CancellationToken.None);
        }

        var tasks = new Task<DrawOutcome>[100];
        for (var i = 0; i < tasks.Length; i++)
        {
            var request = Draw("d" + i, "s" + (i % 5), 30);
            tasks[i] = Task.Run(async () => await rl.DrawAsync(request, CancellationToken.None));
        }

        var outcomes = await Task.WhenAll(tasks).WaitAsync(Bound, TimeProvider.System);
        for (var s = 0; s < 5; s++)
        {
            var granted = 0;
            for (var i = s; i < outcomes.Length; i += 5)
            {
                granted += outcomes[i].Status == ReservationStatus.Done ? 1 : 0;
            }

            Assert.Equal(6, granted); // 6 × 30 ≤ 200 < 7 × 30
        }

        Assert.Equal(State(0, 1_000), await ReadAsync(ledger, "team"));
        var root = (await rl.GetReservationAsync("r", null, CancellationToken.None))!;
        Assert.Equal((new Money(900), Money.Zero), (root.Held, root.Remaining));
        var listed = await rl.ListReservationsAsync("key-a", liveOnly: true, 10, CancellationToken.None);
        Assert.Equal(5, Assert.Single(listed).Children.Count);
    }
}
