using Purser.Ledger.Contract;
using Purser.Responses;
using Purser.Store.Sqlite.Responses;

namespace Purser.Store.Sqlite.Tests.Admin;

/// <summary>The response route store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteResponseRouteStoreTests : ResponseRouteStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IResponseRouteStore Open() => new SqliteResponseRouteStore(SqliteDatabase.Open(_dir.File("routes.db")));
}
