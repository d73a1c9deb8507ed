using Purser.Admin;
using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Pricing;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Sqlite.Tests.Admin;

/// <summary>The admin store contract on a SQLite file, and how its columns are stored; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteAdminStoreTests : AdminStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IAdminStore Open()
    {
        // A new pool too, so "another instance" does not share a cached connection with the first.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return new SqliteAdminStore(SqliteDatabase.Open(_dir.File("admin.db")), Time);
    }

    [Fact]
    public async Task Budget_columns_are_stored_as_the_task_describes()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("b"), default);
        var db = SqliteDatabase.Open(_dir.File("admin.db"));

        Assert.Equal(5_000_000_001, TestRecords.Scalar(db, "SELECT cap_nano FROM budgets WHERE id = 'b';"));
        Assert.Equal(1, TestRecords.Scalar(db, "SELECT count(*) FROM budgets WHERE scope = 'key:agent-a' AND alert_thresholds = '25,50,99' AND window_kind = 'monthly' AND mode = 'post_hoc';"));
        Assert.Equal(Created.ToUnixTimeMilliseconds(), TestRecords.Scalar(db, "SELECT created_at FROM budgets WHERE id = 'b';"));
    }

    [Fact]
    public async Task Upsert_replaces_an_existing_budget_and_keeps_its_creation_time()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("b"), default);
        Time.Advance(TimeSpan.FromHours(1));

        await store.UpsertBudgetAsync(FullBudget("b") with { CapUsd = new Money(7), Enforcement = Enforcement.Hard, Degrade = null }, default);

        var stored = Assert.Single(await store.ListBudgetsAsync(default));
        Assert.Equal(new Money(7), stored.CapUsd);
        Assert.Equal(Enforcement.Hard, stored.Enforcement);
        Assert.Null(stored.Degrade);
        var db = SqliteDatabase.Open(_dir.File("admin.db"));
        Assert.Equal(Created.ToUnixTimeMilliseconds(), TestRecords.Scalar(db, "SELECT created_at FROM budgets;"));
        Assert.Equal(Created.AddHours(1).ToUnixTimeMilliseconds(), TestRecords.Scalar(db, "SELECT updated_at FROM budgets;"));
    }
}
