using Purser.Admin;
using Purser.Ledger.Contract;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Sqlite.Tests.Admin;

/// <summary>The task scope store contract on a SQLite file; each <see cref="Open"/> is a fresh open of the same file.</summary>
public sealed class SqliteTaskScopeStoreTests : TaskScopeStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override ITaskScopeStore Open() => new SqliteTaskScopeStore(SqliteDatabase.Open(_dir.File("tasks.db")), Time);

    protected override IAdminStore OpenAdmin() => new SqliteAdminStore(SqliteDatabase.Open(_dir.File("tasks.db")), Time);
}
