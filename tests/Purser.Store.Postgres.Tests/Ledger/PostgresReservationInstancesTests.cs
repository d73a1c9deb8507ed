using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;
using Purser.Store.Postgres.Ledger;

namespace Purser.Store.Postgres.Tests.Ledger;

/// <summary>
/// Five sub-reservations drawn on in parallel from three ledgers on one schema (each with its own pool, as three
/// gateway processes would have), while other keys race ordinary holds on the same team budget: no share and no parent
/// is ever overdrawn, the other keys get exactly the headroom the reservation does not hold, and settling and releasing
/// from any instance leaves exactly the actual costs.
/// </summary>
public sealed class PostgresReservationInstancesTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly CounterKey Team = new("team", "2026-11-24");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly List<PostgresDatabase> _databases = [];
    private TestSchema? _schema;

    public async Task InitializeAsync() => _schema = await TestSchema.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }

    [Fact]
    public async Task Five_shares_drawn_in_parallel_across_three_instances_never_exceed_their_shares_or_the_parent()
    {
        var ledgers = new PostgresBudgetLedger[3];
        for (var i = 0; i < ledgers.Length; i++)
        {
            var db = PostgresDatabase.Open(_schema!.ConnectionString);
            _databases.Add(db);
            ledgers[i] = new PostgresBudgetLedger(db);
        }

        var line = new HoldLine(Team, new Money(5_000), null, AccountingMode.Reserve, Enforcement.Hard);
        var root = await ledgers[0].CreateReservationAsync(Request("root", null, 1_000, [line]), CancellationToken.None);
        Assert.Equal(ReservationStatus.Done, root.Status);
        var shares = new Task<ReservationOutcome>[5];
        for (var s = 0; s < shares.Length; s++)
        {
            var request = Request("share" + s, "root", 200, []);
            var ledger = ledgers[s % 3];
            shares[s] = Task.Run(async () => await ledger.CreateReservationAsync(request, CancellationToken.None));
        }

        Assert.All(await Task.WhenAll(shares).WaitAsync(Bound, TimeProvider.System), outcome => Assert.Equal(ReservationStatus.Done, outcome.Status));

        // 150 draws of 30 on the shares and 100 other keys' holds of 50 on the team, all at once from three instances.
        var draws = new Task<DrawOutcome>[150];
        var holds = new Task<HoldOutcome>[100];
        for (var i = 0; i < Math.Max(draws.Length, holds.Length); i++)
        {
            var ledger = ledgers[i % 3];
            if (i < draws.Length)
            {
                var draw = new DrawRequest("d" + i, "share" + (i % 5), "key-a", new Money(30), 1, Now, Now.AddMinutes(5));
                draws[i] = Task.Run(async () => await ledger.DrawAsync(draw, CancellationToken.None));
            }

            if (i < holds.Length)
            {
                var hold = new HoldRequest("h" + i, [line], new Money(50), 0, Now.AddMinutes(5));
                holds[i] = Task.Run(async () => await ledger.ReserveAsync(hold, CancellationToken.None));
            }
        }

        var drawn = await Task.WhenAll(draws).WaitAsync(Bound, TimeProvider.System);
        var held = await Task.WhenAll(holds).WaitAsync(Bound, TimeProvider.System);
        for (var s = 0; s < 5; s++)
        {
            var granted = 0;
            for (var i = s; i < drawn.Length; i += 5)
            {
                granted += drawn[i].Status == ReservationStatus.Done ? 1 : 0;
            }

            Assert.Equal(6, granted); // 6 × 30 ≤ 200 < 7 × 30
        }

        Assert.Equal(80, held.Count(h => h.Granted)); // (5,000 − 1,000) / 50: not a nano of the reservation
        Assert.Equal(new CounterState(Money.Zero, new Money(5_000), 0, 0), (await ledgers[1].ReadAsync([Team], CancellationToken.None))[0]);

        // Settle every granted draw from another instance than the one that drew it, then release from a third.
        var settles = new List<Task>();
        for (var i = 0; i < drawn.Length; i++)
        {
            if (drawn[i].Status == ReservationStatus.Done)
            {
                var ledger = ledgers[(i + 1) % 3];
                var id = "d" + i;
                settles.Add(Task.Run(async () => await ledger.SettleAsync(id, new Money(20), 1, CancellationToken.None)));
            }
        }

        await Task.WhenAll(settles).WaitAsync(Bound, TimeProvider.System);
        var view = (await ledgers[2].GetReservationAsync("root", "key-a", CancellationToken.None))!;
        Assert.Equal((new Money(600), Money.Zero, new Money(0)), (view.Spent, view.Held, view.Remaining));
        Assert.All(view.Children, child => Assert.Equal((new Money(120), new Money(80)), (child.Spent, child.Remaining)));

        var released = await ledgers[2].ReleaseReservationAsync("root", "key-a", Now, CancellationToken.None);
        Assert.Equal(6, released.Ended.Count);
        Assert.Equal(new CounterState(new Money(600), new Money(4_000), 30, 0), (await ledgers[0].ReadAsync([Team], CancellationToken.None))[0]);
    }

    private static ReservationRequest Request(string id, string? parent, long amount, HoldLine[] lines) =>
        new(id, "key-a", null, parent, new Money(amount), lines, "team", Now, Now.AddMinutes(15), ReservationLimits.Default);
}
