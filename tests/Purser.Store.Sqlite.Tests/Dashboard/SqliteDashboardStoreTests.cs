using Purser.Dashboard;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Dashboard;

namespace Purser.Store.Sqlite.Tests.Dashboard;

/// <summary>The dashboard store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteDashboardStoreTests : DashboardStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IDashboardStore Open()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return new SqliteDashboardStore(SqliteDatabase.Open(_dir.File("dashboard.db")));
    }
}
