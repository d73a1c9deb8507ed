using Purser.Dashboard;
using Purser.Ledger.Contract;
using Purser.Store.Postgres.Dashboard;

namespace Purser.Store.Postgres.Tests.Dashboard;

/// <summary>The dashboard store contract on a fresh PostgreSQL schema per test; each <see cref="Open"/> is another data source.</summary>
public sealed class PostgresDashboardStoreTests : DashboardStoreContractTests, IAsyncLifetime
{
    private readonly List<PostgresDatabase> _databases = [];
    private TestSchema? _schema;

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

    protected override IDashboardStore Open()
    {
        var db = PostgresDatabase.Open((_schema ?? throw new InvalidOperationException("Not initialised.")).ConnectionString);
        _databases.Add(db);
        return new PostgresDashboardStore(db);
    }
}
