using Microsoft.Data.Sqlite;
using Purser.Budgets;
using Purser.Pricing;
using Purser.Store.Sqlite.Admin;
using Purser.Store.Sqlite.Ledger;

namespace Purser.Store.Sqlite.Tests.Ledger;

/// <summary>SQLite failures that mean "not now" reach the gateway as the ledger's outage type; bugs stay SQLite errors.</summary>
public sealed class SqliteLedgerOutageTests : IDisposable
{
    private static readonly DateTimeOffset Expiry = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(5, true)] // SQLITE_BUSY
    [InlineData(6, true)] // SQLITE_LOCKED
    [InlineData(10, true)] // SQLITE_IOERR
    [InlineData(10 | (3 << 8), true)] // SQLITE_IOERR_WRITE (an extended code)
    [InlineData(13, true)] // SQLITE_FULL
    [InlineData(14, true)] // SQLITE_CANTOPEN
    [InlineData(19, false)] // SQLITE_CONSTRAINT: a bug
    [InlineData(1, false)] // SQLITE_ERROR (bad SQL): a bug
    public void Outage_codes_are_told_from_bugs(int code, bool unavailable)
    {
        var e = new SqliteException("test", code);
        Assert.Equal(unavailable, SqliteErrors.IsUnavailable(e));
        if (unavailable)
        {
            Assert.Same(e, SqliteErrors.Wrap(e).InnerException);
        }
    }

    [Fact]
    public async Task A_file_locked_by_another_process_is_ledger_unavailable_and_the_ledger_works_again_after()
    {
        var path = _dir.File("locked.db");
        var db = SqliteDatabase.Open(path);
        using var ledger = new SqliteBudgetLedger(db);
        var tasks = new SqliteTaskScopeStore(db, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Expiry));
        var line = new HoldLine(new CounterKey("b", "lifetime"), new Money(1_000), null, AccountingMode.Reserve, Enforcement.Hard);
        using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            holder.Open();
            using (var exclusive = holder.CreateCommand())
            {
                exclusive.CommandText = "BEGIN EXCLUSIVE;";
                exclusive.ExecuteNonQuery();
            }

            // Past the busy timeout (and Microsoft.Data.Sqlite's own retries, up to its 30 s command timeout): the outage
            // type, with SQLite's error inside.
            var reserve = await Assert.ThrowsAsync<LedgerUnavailableException>(async () =>
                await ledger.ReserveAsync(new HoldRequest("h1", [line], new Money(10), 0, Expiry), default));
            Assert.Equal(5, ((SqliteException)reserve.InnerException!).SqliteErrorCode & 0xFF);
            await Assert.ThrowsAsync<LedgerUnavailableException>(async () => await tasks.TryCreateAsync(Task(), "k", 10, default));
        }

        Assert.True((await ledger.ReserveAsync(new HoldRequest("h2", [line], new Money(10), 0, Expiry), default)).Granted);
        Assert.Equal(SettleOutcome.Settled, await ledger.SettleAsync("h2", new Money(7), 0, default));
        Assert.Equal(7, (await ledger.ReadAsync([line.Counter], default))[0].Spent.NanoUsd);
        Assert.Equal(Purser.Admin.TaskCreation.Created, await tasks.TryCreateAsync(Task(), "k", 10, default));
    }

    private static BudgetDefinition Task() => new()
    {
        Id = "task:key:k:t",
        Scope = new ScopeRef(ScopeKind.Task, "t"),
        Window = BudgetWindowKind.Lifetime,
        CapUsd = new Money(1_000),
    };
}
