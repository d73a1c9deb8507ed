using Purser.Ledger.Contract;

namespace Purser.Store.Sqlite.Tests;

/// <summary>The usage store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteUsageStoreContractTests : UsageStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string DatabasePath => _dir.File("usage.db");

    protected override UsageStoreUnderTest Open()
    {
        // A new pool too, so "another instance" does not share a cached connection with the first.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var options = new SqliteStoreOptions { Path = DatabasePath, MaxBatch = 64, MaxDelay = TimeSpan.FromMilliseconds(50) };
        var store = new SqliteUsageStore(SqliteDatabase.Open(DatabasePath), options, Time);
        store.Start();
        return UsageStoreUnderTest.Of(store);
    }

    protected override Task<long> CountAsync() =>
        Task.FromResult(TestRecords.Scalar(SqliteDatabase.Open(DatabasePath), "SELECT count(*) FROM usage_records;"));
}
