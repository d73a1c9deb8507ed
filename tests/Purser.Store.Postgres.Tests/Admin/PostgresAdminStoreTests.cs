using Purser.Admin;
using Purser.Ledger.Contract;
using Purser.Store.Postgres.Admin;

namespace Purser.Store.Postgres.Tests.Admin;

/// <summary>The admin store contract on a fresh PostgreSQL schema per test; each <see cref="Open"/> is another data source.</summary>
public sealed class PostgresAdminStoreTests : AdminStoreContractTests, IAsyncLifetime
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

    protected override IAdminStore Open()
    {
        var db = PostgresDatabase.Open(Schema.ConnectionString);
        _databases.Add(db);
        return new PostgresAdminStore(db, Time);
    }
}
