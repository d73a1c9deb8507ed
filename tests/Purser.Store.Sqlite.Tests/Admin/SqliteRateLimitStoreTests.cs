using Purser.Ledger.Contract;
using Purser.RateLimits;
using Purser.Store.Sqlite.RateLimits;

namespace Purser.Store.Sqlite.Tests.Admin;

/// <summary>The rate limit store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteRateLimitStoreTests : RateLimitStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IRateLimitStore Open() => new SqliteRateLimitStore(SqliteDatabase.Open(_dir.File("limits.db")));
}
