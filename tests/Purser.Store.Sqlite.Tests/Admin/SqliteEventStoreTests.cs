using Purser.Events;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Sqlite.Tests.Admin;

/// <summary>The event store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteEventStoreTests : EventStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override IEventStore Open()
    {
        // A new pool too, so "another instance" does not share a cached connection with the first.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        return new SqliteEventStore(SqliteDatabase.Open(_dir.File("events.db")), Time);
    }

    protected override Task<long> ScalarAsync(string sql) =>
        Task.FromResult(TestRecords.Scalar(SqliteDatabase.Open(_dir.File("events.db")), sql));

    protected override bool IsDuplicateKeyError(Exception exception) => exception is Microsoft.Data.Sqlite.SqliteException;
}
