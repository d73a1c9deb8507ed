using Purser.Admin;
using Purser.Ledger.Contract;
using Purser.Store.Postgres.Admin;

namespace Purser.Store.Postgres.Tests.Admin;

/// <summary>The task scope store contract on a fresh PostgreSQL schema per test; each <see cref="Open"/> is another data source.</summary>
public sealed class PostgresTaskScopeStoreTests : TaskScopeStoreContractTests, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private TestSchema? _schema;

    private TestSchema Schema => _schema ?? throw new InvalidOperationException("Not initialised.");

    public async Task InitializeAsync() => _schema = await TestSchema.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var db in _databases)
        {
            await db.DisposeAsync();
        }

        if (_schema is not null)
        {
            await _schema.DisposeAsync();
        }
    }

    protected override ITaskScopeStore Open() => new PostgresTaskScopeStore(Database(), Time);

    protected override IAdminStore OpenAdmin() => new PostgresAdminStore(Database(), Time);

    private PostgresDatabase Database()
    {
        var db = PostgresDatabase.Open(Schema.ConnectionString);
        _databases.Add(db);
        return db;
    }
}
