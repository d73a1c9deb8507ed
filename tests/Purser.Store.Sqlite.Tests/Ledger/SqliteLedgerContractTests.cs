using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Ledger;

namespace Purser.Store.Sqlite.Tests.Ledger;

public sealed class SqliteLedgerContractTests : LedgerContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<SqliteBudgetLedger> _ledgers = [];

    public void Dispose()
    {
        foreach (var ledger in _ledgers)
        {
            ledger.Dispose();
        }

        _dir.Dispose();
    }

    protected override Task<IBudgetLedger> CreateLedgerAsync() => Task.FromResult<IBudgetLedger>(Open(_dir.File("ledger.db")));

    private SqliteBudgetLedger Open(string path)
    {
        var ledger = new SqliteBudgetLedger(SqliteDatabase.Open(path));
        _ledgers.Add(ledger);
        return ledger;
    }

    [Fact]
    public void Migration_step_2_creates_the_ledger_tables_and_the_expiry_index()
    {
        var db = SqliteDatabase.Open(_dir.File("schema.db"));

        foreach (var name in (string[])["ledger_counters", "ledger_holds", "ledger_hold_lines", "ix_ledger_holds_state_expires"])
        {
            Assert.Equal(1, TestRecords.Scalar(db, $"SELECT count(*) FROM sqlite_master WHERE name = '{name}';"));
        }
    }

    [Fact]
    public async Task Two_ledgers_on_one_file_racing_reserves_never_exceed_the_cap()
    {
        const long amount = 777;
        var path = _dir.File("shared.db");
        var first = Open(path);
        var second = Open(path);
        var line = Line("shared", 50 * amount);

        var tasks = new Task<HoldOutcome>[200];
        for (var i = 0; i < tasks.Length; i++)
        {
            var ledger = i % 2 == 0 ? first : second;
            var request = Hold("h" + i, amount, 1, line);
            tasks[i] = Task.Run(async () => await ledger.ReserveAsync(request, CancellationToken.None));
        }

        var outcomes = await Task.WhenAll(tasks).WaitAsync(Bound, TimeProvider.System);

        var granted = 0;
        for (var i = 0; i < outcomes.Length; i++)
        {
            Assert.True(outcomes[i].States[0].Held.NanoUsd <= 50 * amount);
            if (outcomes[i].Granted)
            {
                granted++;
            }
        }

        Assert.Equal(50, granted);
        Assert.Equal(State(0, 50 * amount, 0, 50), await ReadAsync(first, "shared"));
        Assert.Equal(State(0, 50 * amount, 0, 50), await ReadAsync(second, "shared"));
    }

    [Fact]
    public async Task A_hold_taken_by_one_ledger_is_settled_by_another_opened_later_on_the_same_file()
    {
        var path = _dir.File("durable.db");
        var before = Open(path);
        await before.ReserveAsync(Hold("h1", 1_000, 100, Line("a", 10_000), Line("p", 10_000, mode: AccountingMode.PostHoc)), CancellationToken.None);
        await before.ReserveAsync(Hold("h2", 500, 50, Line("a", 10_000)), CancellationToken.None);
        before.Dispose();

        var after = Open(path);
        Assert.Equal(SettleOutcome.Settled, await after.SettleAsync("h1", new(250), 25, CancellationToken.None));
        Assert.Equal(1, await after.ExpireAsync(Expiry, CancellationToken.None));

        var states = await after.ReadAsync([Key("a"), Key("p")], CancellationToken.None);
        Assert.Equal([State(750, 0, 75, 0), State(250, 0, 25, 0)], states);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await before.SettleAsync("h2", new(1), 1, CancellationToken.None));
    }

    [Fact]
    public async Task Sub_millisecond_expiry_is_rounded_up_so_a_hold_is_never_charged_early()
    {
        var ledger = Open(_dir.File("ms.db"));
        var expiresAt = Now.AddTicks(4_000); // 0.4 ms past a whole millisecond
        await ledger.ReserveAsync(Hold("h", 100, 1, expiresAt, Line("a", 1_000)), CancellationToken.None);

        Assert.Equal(0, await ledger.ExpireAsync(Now, CancellationToken.None));
        Assert.Equal(0, await ledger.ExpireAsync(Now.AddTicks(9_000), CancellationToken.None));
        Assert.Equal(1, await ledger.ExpireAsync(Now.AddMilliseconds(1), CancellationToken.None));
        Assert.Equal(State(100, 0, 1, 0), await ReadAsync(ledger, "a"));
    }
}
