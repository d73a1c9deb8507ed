using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IBudgetLedger"/>, run against every implementation.</summary>
public abstract partial class LedgerContractTests
{
    protected const string Window = "2026-11-24";

    protected static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    protected static readonly DateTimeOffset Expiry = Now.AddMinutes(5);

    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>A fresh, empty ledger.</summary>
    protected abstract Task<IBudgetLedger> CreateLedgerAsync();

    protected static CounterKey Key(string budgetId) => new(budgetId, Window);

    protected static HoldLine Line(
        string budgetId,
        long? capNano,
        long? capTokens = null,
        AccountingMode mode = AccountingMode.Reserve,
        Enforcement enforcement = Enforcement.Hard)
        => new(Key(budgetId), capNano is { } cap ? new Money(cap) : null, capTokens, mode, enforcement);

    protected static HoldRequest Hold(string holdId, long amountNano, long tokens, params HoldLine[] lines)
        => new(holdId, lines, new Money(amountNano), tokens, Expiry);

    protected static HoldRequest Hold(string holdId, long amountNano, long tokens, DateTimeOffset expiresAt, params HoldLine[] lines)
        => new(holdId, lines, new Money(amountNano), tokens, expiresAt);

    protected static CounterState State(long spent, long held, long spentTokens = 0, long heldTokens = 0)
        => new(new Money(spent), new Money(held), spentTokens, heldTokens);

    protected static async Task<CounterState> ReadAsync(IBudgetLedger ledger, string budgetId)
        => (await ledger.ReadAsync([Key(budgetId)], CancellationToken.None))[0];

    protected static ValueTask<HoldOutcome> ReserveAsync(IBudgetLedger ledger, HoldRequest request)
        => ledger.ReserveAsync(request, CancellationToken.None);

    protected static ValueTask<SettleOutcome> SettleAsync(IBudgetLedger ledger, string holdId, long actualNano, long actualTokens)
        => ledger.SettleAsync(holdId, new Money(actualNano), actualTokens, CancellationToken.None);

    // ---- reading ----

    [Fact]
    public async Task Read_of_unknown_counters_returns_empty_states_in_request_order()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h1", 7, 3, Line("known", 100)));

        var states = await ledger.ReadAsync([Key("nope"), Key("known"), new CounterKey("known", "2026-11-25")], CancellationToken.None);

        Assert.Equal([CounterState.Empty, State(0, 7, 0, 3), CounterState.Empty], states);
    }

    [Fact]
    public async Task Counters_of_different_windows_of_one_budget_are_independent()
    {
        var ledger = await CreateLedgerAsync();
        var today = new HoldLine(new CounterKey("b", "2026-11-24"), new Money(100), null, AccountingMode.Reserve, Enforcement.Hard);
        var tomorrow = today with { Counter = new CounterKey("b", "2026-11-25") };

        Assert.True((await ReserveAsync(ledger, Hold("h1", 100, 0, today))).Granted);
        Assert.False((await ReserveAsync(ledger, Hold("h2", 1, 0, today))).Granted);
        Assert.True((await ReserveAsync(ledger, Hold("h3", 100, 0, tomorrow))).Granted);

        var states = await ledger.ReadAsync([today.Counter, tomorrow.Counter], CancellationToken.None);
        Assert.Equal([State(0, 100), State(0, 100)], states);
    }

    // ---- listing (end-user counters) ----

    [Fact]
    public async Task List_returns_the_windows_counters_under_a_prefix_most_committed_first_within_the_limit()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h1", 10, 1, Line("per-user/alice", 100)));
        await ReserveAsync(ledger, Hold("h2", 30, 1, Line("per-user/bob", 100)));
        await SettleAsync(ledger, "h2", 25, 1);
        await ReserveAsync(ledger, Hold("h3", 20, 1, Line("per-user/carol", 100)));
        await ReserveAsync(ledger, Hold("h4", 99, 1, Line("per-user", 100), Line("per_user/x", 100), Line("per-users/y", 100)));
        var otherWindow = new HoldLine(new CounterKey("per-user/dave", "2026-11-25"), new Money(100), null, AccountingMode.Reserve, Enforcement.Hard);
        await ReserveAsync(ledger, Hold("h5", 50, 1, otherWindow));

        var all = await ledger.ListAsync("per-user/", Window, 10, CancellationToken.None);
        Assert.Equal(["per-user/bob", "per-user/carol", "per-user/alice"], all.Select(e => e.Counter.BudgetId));
        Assert.All(all, e => Assert.Equal(Window, e.Counter.WindowKey));
        Assert.Equal(State(25, 0, 1, 0), all[0].State);
        Assert.Equal(State(0, 10, 0, 1), all[2].State);

        var top = await ledger.ListAsync("per-user/", Window, 2, CancellationToken.None);
        Assert.Equal(["per-user/bob", "per-user/carol"], top.Select(e => e.Counter.BudgetId));
        Assert.Empty(await ledger.ListAsync("nobody/", Window, 10, CancellationToken.None));
    }

    // ---- hard Reserve lines ----

    [Fact]
    public async Task Hard_reserve_line_admits_a_hold_that_fills_the_cap_exactly_and_refuses_one_nano_more()
    {
        var ledger = await CreateLedgerAsync();

        var first = await ReserveAsync(ledger, Hold("h1", 600, 0, Line("b", 1_000)));
        var exact = await ReserveAsync(ledger, Hold("h2", 400, 0, Line("b", 1_000)));
        var over = await ReserveAsync(ledger, Hold("h3", 1, 0, Line("b", 1_000)));
        var zero = await ReserveAsync(ledger, Hold("h4", 0, 0, Line("b", 1_000)));

        Assert.True(first.Granted);
        Assert.True(exact.Granted);
        Assert.Equal([State(0, 1_000)], exact.States);
        Assert.False(over.Granted);
        Assert.Equal(0, over.DeniedLine);
        Assert.Equal(DenialReason.Usd, over.Reason);
        Assert.Equal([State(0, 1_000)], over.States);
        Assert.True(zero.Granted);
        Assert.Equal(State(0, 1_000), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Hard_reserve_line_token_cap_fits_exactly_and_refuses_one_token_more()
    {
        var ledger = await CreateLedgerAsync();

        var exact = await ReserveAsync(ledger, Hold("h1", 5, 1_000, Line("b", null, 1_000)));
        var over = await ReserveAsync(ledger, Hold("h2", 0, 1, Line("b", null, 1_000)));

        Assert.True(exact.Granted);
        Assert.False(over.Granted);
        Assert.Equal(DenialReason.Tokens, over.Reason);
        Assert.Equal(State(0, 5, 0, 1_000), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Hard_reserve_line_with_both_caps_refuses_on_whichever_is_exceeded()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 1_000, 100);

        Assert.True((await ReserveAsync(ledger, Hold("h1", 500, 50, line))).Granted);
        var usd = await ReserveAsync(ledger, Hold("h2", 501, 1, line));
        var tokens = await ReserveAsync(ledger, Hold("h3", 1, 51, line));
        var both = await ReserveAsync(ledger, Hold("h4", 500, 50, line));

        Assert.Equal((false, DenialReason.Usd), (usd.Granted, usd.Reason));
        Assert.Equal((false, DenialReason.Tokens), (tokens.Granted, tokens.Reason));
        Assert.True(both.Granted);
        Assert.Equal(State(0, 1_000, 0, 100), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Hard_reserve_line_counts_spent_and_held_together_against_the_cap()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h1", 500, 0, Line("b", 1_000)));
        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "h1", 300, 0));
        await ReserveAsync(ledger, Hold("h2", 400, 0, Line("b", 1_000)));

        // spent 300 + held 400 + 301 = 1001 > 1000; 300 fits exactly.
        var over = await ReserveAsync(ledger, Hold("h3", 301, 0, Line("b", 1_000)));
        var exact = await ReserveAsync(ledger, Hold("h4", 300, 0, Line("b", 1_000)));

        Assert.False(over.Granted);
        Assert.Equal([State(300, 400)], over.States);
        Assert.True(exact.Granted);
        Assert.Equal([State(300, 700)], exact.States);
    }

    // ---- all-or-nothing ----

    [Fact]
    public async Task Denied_reserve_changes_no_line_and_names_the_first_line_that_refused()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("seed", 90, 9, Line("team", 100), Line("key", null, 10)));

        var outcome = await ReserveAsync(ledger, Hold("h", 20, 2,
            Line("org", 1_000),
            Line("team", 100),
            Line("key", null, 10),
            Line("post", 50, mode: AccountingMode.PostHoc)));

        Assert.False(outcome.Granted);
        Assert.Equal(1, outcome.DeniedLine);
        Assert.Equal(DenialReason.Usd, outcome.Reason);
        Assert.Equal([CounterState.Empty, State(0, 90, 0, 9), State(0, 90, 0, 9), CounterState.Empty], outcome.States);
        var states = await ledger.ReadAsync([Key("org"), Key("team"), Key("key"), Key("post")], CancellationToken.None);
        Assert.Equal([CounterState.Empty, State(0, 90, 0, 9), State(0, 90, 0, 9), CounterState.Empty], states);

        // The refused hold id was not taken: it can be reserved once it fits.
        Assert.Equal(SettleOutcome.UnknownHold, await SettleAsync(ledger, "h", 1, 1));
        Assert.True((await ReserveAsync(ledger, Hold("h", 10, 1, Line("team", 100), Line("key", null, 10)))).Granted);
    }

    [Fact]
    public async Task Granted_reserve_holds_on_every_reserve_line_and_reports_each_state_after_the_hold()
    {
        var ledger = await CreateLedgerAsync();

        var outcome = await ReserveAsync(ledger, Hold("h", 20, 2,
            Line("org", 1_000),
            Line("team", null, 100),
            Line("post", 50, mode: AccountingMode.PostHoc),
            Line("soft", 10, enforcement: Enforcement.Soft)));

        Assert.True(outcome.Granted);
        Assert.Equal(-1, outcome.DeniedLine);
        Assert.Equal(DenialReason.None, outcome.Reason);
        Assert.Equal([State(0, 20, 0, 2), State(0, 20, 0, 2), CounterState.Empty, State(0, 20, 0, 2)], outcome.States);
        var states = await ledger.ReadAsync([Key("org"), Key("team"), Key("post"), Key("soft")], CancellationToken.None);
        Assert.Equal(outcome.States, states);
    }

    // ---- hard PostHoc lines ----

    [Fact]
    public async Task Hard_posthoc_line_admits_any_amount_while_spent_is_under_the_cap_and_holds_nothing()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 1_000, 100, AccountingMode.PostHoc);
        await ReserveAsync(ledger, Hold("h1", 0, 0, line));
        await SettleAsync(ledger, "h1", 999, 99);

        var outcome = await ReserveAsync(ledger, Hold("h2", 1_000_000, 1_000_000, line));

        Assert.True(outcome.Granted);
        Assert.Equal([State(999, 0, 99, 0)], outcome.States);
        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "h2", 5, 3));
        Assert.Equal(State(1_004, 0, 102, 0), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Hard_posthoc_line_refuses_once_spent_reaches_the_usd_cap()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 1_000, mode: AccountingMode.PostHoc);
        await ReserveAsync(ledger, Hold("h1", 0, 0, line));
        await SettleAsync(ledger, "h1", 1_000, 0);

        var outcome = await ReserveAsync(ledger, Hold("h2", 0, 0, line));

        Assert.False(outcome.Granted);
        Assert.Equal(DenialReason.Usd, outcome.Reason);
        Assert.Equal([State(1_000, 0)], outcome.States);
    }

    [Fact]
    public async Task Hard_posthoc_line_refuses_once_spent_reaches_the_token_cap()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 1_000, 100, AccountingMode.PostHoc);
        await ReserveAsync(ledger, Hold("h1", 0, 0, line));
        await SettleAsync(ledger, "h1", 1, 100);

        var outcome = await ReserveAsync(ledger, Hold("h2", 1, 1, line));

        Assert.False(outcome.Granted);
        Assert.Equal(DenialReason.Tokens, outcome.Reason);
        Assert.Equal(State(1, 0, 100, 0), await ReadAsync(ledger, "b"));
    }

    // ---- soft lines ----

    [Fact]
    public async Task Soft_reserve_line_admits_beyond_its_cap_and_still_takes_the_hold()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 100, 10, enforcement: Enforcement.Soft);

        var first = await ReserveAsync(ledger, Hold("h1", 150, 15, line));
        var second = await ReserveAsync(ledger, Hold("h2", 150, 15, line));

        Assert.True(first.Granted);
        Assert.True(second.Granted);
        Assert.Equal([State(0, 300, 0, 30)], second.States);
        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "h1", 120, 12));
        Assert.Equal(State(120, 150, 12, 15), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Soft_posthoc_line_admits_after_spent_passed_its_cap_and_holds_nothing()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 100, mode: AccountingMode.PostHoc, enforcement: Enforcement.Soft);
        await ReserveAsync(ledger, Hold("h1", 0, 0, line));
        await SettleAsync(ledger, "h1", 500, 0);

        var outcome = await ReserveAsync(ledger, Hold("h2", 50, 5, line));

        Assert.True(outcome.Granted);
        Assert.Equal([State(500, 0)], outcome.States);
    }

    // ---- programming errors ----

    [Fact]
    public async Task Duplicate_hold_id_throws_and_changes_nothing_even_after_the_first_was_settled()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("dup", 10, 1, Line("a", 1_000)));

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await ReserveAsync(ledger, Hold("dup", 20, 2, Line("a", 1_000), Line("b", 1_000))));
        Assert.Equal(State(0, 10, 0, 1), await ReadAsync(ledger, "a"));
        Assert.Equal(CounterState.Empty, await ReadAsync(ledger, "b"));

        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "dup", 4, 1));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await ReserveAsync(ledger, Hold("dup", 20, 2, Line("a", 1_000))));
        Assert.Equal(State(4, 0, 1, 0), await ReadAsync(ledger, "a"));
        Assert.Equal(SettleOutcome.AlreadySettled, await SettleAsync(ledger, "dup", 4, 1));
    }

    [Fact]
    public async Task Negative_amounts_and_tokens_throw_and_change_nothing()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 10, 1, Line("a", 1_000)));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ReserveAsync(ledger, Hold("n1", -1, 0, Line("a", 1_000))));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ReserveAsync(ledger, Hold("n2", 0, -1, Line("a", 1_000))));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await SettleAsync(ledger, "h", -1, 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await SettleAsync(ledger, "h", 0, -1));

        Assert.Equal(State(0, 10, 0, 1), await ReadAsync(ledger, "a"));
        Assert.Equal(SettleOutcome.UnknownHold, await SettleAsync(ledger, "n1", 0, 0));
        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "h", 0, 0));
    }

    [Fact]
    public async Task Cancelled_reserve_takes_nothing()
    {
        var ledger = await CreateLedgerAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ledger.ReserveAsync(Hold("h", 10, 1, Line("a", 1_000)), cancelled.Token));

        Assert.Equal(CounterState.Empty, await ReadAsync(ledger, "a"));
        Assert.Equal(SettleOutcome.UnknownHold, await SettleAsync(ledger, "h", 0, 0));
    }

    // ---- settlement ----

    [Fact]
    public async Task Settle_releases_the_hold_on_reserve_lines_and_charges_the_actual_on_every_line()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 1_000, 100,
            Line("reserve", 10_000, 1_000),
            Line("post", 10_000, mode: AccountingMode.PostHoc),
            Line("soft", 10, enforcement: Enforcement.Soft)));

        var outcome = await SettleAsync(ledger, "h", 420, 37);

        Assert.Equal(SettleOutcome.Settled, outcome);
        var states = await ledger.ReadAsync([Key("reserve"), Key("post"), Key("soft")], CancellationToken.None);
        Assert.Equal([State(420, 0, 37, 0), State(420, 0, 37, 0), State(420, 0, 37, 0)], states);
    }

    [Fact]
    public async Task Settle_may_charge_more_than_was_held()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 100, 10, Line("a", 100, 10)));

        Assert.Equal(SettleOutcome.Settled, await SettleAsync(ledger, "h", 130, 12));

        Assert.Equal(State(130, 0, 12, 0), await ReadAsync(ledger, "a"));
        Assert.False((await ReserveAsync(ledger, Hold("h2", 0, 0, Line("a", 100)))).Granted);
    }

    [Fact]
    public async Task Second_settle_of_a_hold_is_AlreadySettled_and_changes_nothing()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 1_000, 100, Line("a", 10_000)));
        await SettleAsync(ledger, "h", 400, 40);

        var again = await SettleAsync(ledger, "h", 900, 90);

        Assert.Equal(SettleOutcome.AlreadySettled, again);
        Assert.Equal(State(400, 0, 40, 0), await ReadAsync(ledger, "a"));
    }

    [Fact]
    public async Task Settle_of_an_unknown_hold_is_UnknownHold_and_changes_nothing()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 1_000, 100, Line("a", 10_000)));

        Assert.Equal(SettleOutcome.UnknownHold, await SettleAsync(ledger, "other", 5, 5));

        Assert.Equal(State(0, 1_000, 0, 100), await ReadAsync(ledger, "a"));
    }

    // ---- expiry ----

    [Fact]
    public async Task Expire_charges_due_unsettled_holds_in_full_at_or_after_their_expiry_and_counts_them()
    {
        var ledger = await CreateLedgerAsync();
        var lines = new[] { Line("reserve", 100_000, 10_000), Line("post", 100_000, mode: AccountingMode.PostHoc) };
        await ReserveAsync(ledger, Hold("due", 1_000, 100, Expiry, lines));
        await ReserveAsync(ledger, Hold("later", 2_000, 200, Expiry.AddSeconds(1), lines));
        await ReserveAsync(ledger, Hold("settled", 4_000, 400, Expiry.AddSeconds(-1), lines));
        await SettleAsync(ledger, "settled", 10, 1);

        var early = await ledger.ExpireAsync(Expiry.AddMilliseconds(-1), CancellationToken.None);
        var onTime = await ledger.ExpireAsync(Expiry, CancellationToken.None);
        var again = await ledger.ExpireAsync(Expiry, CancellationToken.None);

        Assert.Equal(0, early);
        Assert.Equal(1, onTime);
        Assert.Equal(0, again);
        var states = await ledger.ReadAsync([Key("reserve"), Key("post")], CancellationToken.None);
        Assert.Equal([State(1_010, 2_000, 101, 200), State(1_010, 0, 101, 0)], states);

        Assert.Equal(1, await ledger.ExpireAsync(Expiry.AddHours(1), CancellationToken.None));
        states = await ledger.ReadAsync([Key("reserve"), Key("post")], CancellationToken.None);
        Assert.Equal([State(3_010, 0, 301, 0), State(3_010, 0, 301, 0)], states);
    }

    [Fact]
    public async Task Expiry_follows_a_moving_clock()
    {
        var ledger = await CreateLedgerAsync();
        var time = new FakeTimeProvider(Now);
        for (var i = 0; i < 5; i++)
        {
            await ReserveAsync(ledger, Hold("h" + i, 100, 10, time.GetUtcNow().AddSeconds(30 * (i + 1)), Line("a", 10_000)));
        }

        var counts = new List<int>();
        for (var step = 0; step < 4; step++)
        {
            time.Advance(TimeSpan.FromSeconds(45));
            counts.Add(await ledger.ExpireAsync(time.GetUtcNow(), CancellationToken.None));
        }

        // At +45 s: 30; +90 s: 60, 90; +135 s: 120; +180 s: 150.
        Assert.Equal([1, 2, 1, 1], counts);
        Assert.Equal(State(500, 0, 50, 0), await ReadAsync(ledger, "a"));
    }

    [Fact]
    public async Task Settle_after_expiry_corrects_the_charge_down_to_the_actual_then_is_idempotent()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 1_000, 100, Line("reserve", 10_000), Line("post", 10_000, mode: AccountingMode.PostHoc)));
        await ReserveAsync(ledger, Hold("other", 50, 5, Expiry.AddHours(1), Line("reserve", 10_000)));
        Assert.Equal(1, await ledger.ExpireAsync(Expiry, CancellationToken.None));
        Assert.Equal(State(1_000, 50, 100, 5), await ReadAsync(ledger, "reserve"));

        var corrected = await SettleAsync(ledger, "h", 300, 30);
        var again = await SettleAsync(ledger, "h", 700, 70);

        Assert.Equal(SettleOutcome.CorrectedAfterExpiry, corrected);
        Assert.Equal(SettleOutcome.AlreadySettled, again);
        var states = await ledger.ReadAsync([Key("reserve"), Key("post")], CancellationToken.None);
        Assert.Equal([State(300, 50, 30, 5), State(300, 0, 30, 0)], states);
    }

    [Fact]
    public async Task Settle_after_expiry_corrects_the_charge_up_when_the_actual_exceeds_the_hold()
    {
        var ledger = await CreateLedgerAsync();
        await ReserveAsync(ledger, Hold("h", 1_000, 100, Line("a", 10_000)));
        await ledger.ExpireAsync(Expiry, CancellationToken.None);

        Assert.Equal(SettleOutcome.CorrectedAfterExpiry, await SettleAsync(ledger, "h", 1_250, 80));

        Assert.Equal(State(1_250, 0, 80, 0), await ReadAsync(ledger, "a"));
        Assert.Equal(0, await ledger.ExpireAsync(Expiry.AddDays(1), CancellationToken.None));
    }

    // ---- concurrency ----

    [Fact]
    public async Task Concurrent_reserves_grant_exactly_what_fits_and_concurrent_settles_release_it_all()
    {
        const long amount = 1_234_567;
        const long actual = 1_000_003;
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 50 * amount, 50 * 10);

        var reserves = new Task<HoldOutcome>[200];
        for (var i = 0; i < reserves.Length; i++)
        {
            var id = "h" + i;
            reserves[i] = Task.Run(async () => await ReserveAsync(ledger, Hold(id, amount, 10, line)));
        }

        var outcomes = await Task.WhenAll(reserves).WaitAsync(Bound, TimeProvider.System);

        var granted = new List<string>();
        for (var i = 0; i < outcomes.Length; i++)
        {
            Assert.True(outcomes[i].States[0].Held.NanoUsd <= 50 * amount);
            if (outcomes[i].Granted)
            {
                granted.Add("h" + i);
            }
            else
            {
                Assert.Equal(DenialReason.Usd, outcomes[i].Reason);
            }
        }

        Assert.Equal(50, granted.Count);
        Assert.Equal(State(0, 50 * amount, 0, 500), await ReadAsync(ledger, "b"));

        var settles = new Task<SettleOutcome>[granted.Count];
        for (var i = 0; i < settles.Length; i++)
        {
            var id = granted[i];
            settles[i] = Task.Run(async () => await SettleAsync(ledger, id, actual, 7));
        }

        Assert.All(await Task.WhenAll(settles).WaitAsync(Bound, TimeProvider.System), s => Assert.Equal(SettleOutcome.Settled, s));
        Assert.Equal(State(50 * actual, 0, 50 * 7, 0), await ReadAsync(ledger, "b"));
    }

    [Fact]
    public async Task Concurrent_reserves_on_overlapping_paths_in_different_orders_never_exceed_any_cap_and_finish()
    {
        const long amount = 1_000;
        var ledger = await CreateLedgerAsync();
        var caps = new Dictionary<string, long> { ["a"] = 30 * amount, ["b"] = 40 * amount, ["c"] = 25 * amount, ["d"] = 60 * amount };
        string[][] paths = [["a", "b"], ["b", "a"], ["b", "c", "d"], ["c", "a", "b"], ["d", "a"], ["a", "c"], ["d", "c"]];

        var requests = new HoldRequest[200];
        var tasks = new Task<HoldOutcome>[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            var path = paths[i % paths.Length];
            var lines = new HoldLine[path.Length];
            for (var j = 0; j < path.Length; j++)
            {
                lines[j] = Line(path[j], caps[path[j]]);
            }

            var request = Hold("h" + i, amount, 1, lines);
            requests[i] = request;
            tasks[i] = Task.Run(async () => await ReserveAsync(ledger, request));
        }

        var outcomes = await Task.WhenAll(tasks).WaitAsync(Bound, TimeProvider.System);

        var expectedHeld = new Dictionary<string, long> { ["a"] = 0, ["b"] = 0, ["c"] = 0, ["d"] = 0 };
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Granted)
            {
                foreach (var line in requests[i].Lines)
                {
                    expectedHeld[line.Counter.BudgetId] += amount;
                }
            }
        }

        foreach (var (budget, cap) in caps)
        {
            var state = await ReadAsync(ledger, budget);
            Assert.True(state.Held.NanoUsd <= cap, $"{budget} holds {state.Held.NanoUsd} over its cap {cap}");
            Assert.Equal(expectedHeld[budget], state.Held.NanoUsd);
            Assert.Equal(expectedHeld[budget] / amount, state.HeldTokens);
        }

        // Holds only grew, so the line that refused a request must still be too full for it at the end.
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (!outcomes[i].Granted)
            {
                var refused = requests[i].Lines[outcomes[i].DeniedLine].Counter.BudgetId;
                Assert.True(expectedHeld[refused] + amount > caps[refused], $"request {i} was refused by {refused}, which had room");
            }
        }
    }

    [Fact]
    public async Task Concurrent_settles_and_expiries_charge_every_hold_exactly_its_actual()
    {
        var ledger = await CreateLedgerAsync();
        var line = Line("b", 1_000_000_000, mode: AccountingMode.Reserve);
        for (var i = 0; i < 100; i++)
        {
            await ReserveAsync(ledger, Hold("h" + i, 1_000, 10, Expiry, line));
        }

        var tasks = new List<Task>();
        for (var i = 0; i < 100; i++)
        {
            var id = "h" + i;
            var actual = 100 + i;
            tasks.Add(Task.Run(async () => await SettleAsync(ledger, id, actual, 1)));
            if (i % 10 == 0)
            {
                tasks.Add(Task.Run(async () => await ledger.ExpireAsync(Expiry, CancellationToken.None)));
            }
        }

        await Task.WhenAll(tasks).WaitAsync(Bound, TimeProvider.System);

        // Whichever came first, a hold ends up charged its actual: settled directly or expired then corrected.
        var expectedSpent = 0L;
        for (var i = 0; i < 100; i++)
        {
            expectedSpent += 100 + i;
        }

        Assert.Equal(State(expectedSpent, 0, 100, 0), await ReadAsync(ledger, "b"));
        Assert.Equal(0, await ledger.ExpireAsync(Expiry.AddDays(1), CancellationToken.None));
    }
}
