using Purser.Bedtime;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Bedtime;

namespace Purser.Store.Sqlite.Tests.Bedtime;

/// <summary>The Bedtime store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteBedtimeStoreTests : BedtimeStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IBedtimeStore Open()
    {
        // A new pool too, so "another instance" does not share a cached connection with the first.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return new SqliteBedtimeStore(SqliteDatabase.Open(_dir.File("bedtime.db")), Time);
    }
}
