using Purser.Ledger.Contract;
using Purser.Store.Postgres.Usage;

namespace Purser.Store.Postgres.Tests.Stores;

/// <summary>The usage store contract on a fresh PostgreSQL schema per test; each <see cref="Open"/> is another data source.</summary>
public sealed class PostgresUsageStoreTests : UsageStoreContractTests, IAsyncLifetime
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

    protected override UsageStoreUnderTest Open()
    {
        var db = PostgresDatabase.Open(Schema.ConnectionString);
        _databases.Add(db);
        var store = new PostgresUsageStore(db, null, Time);
        store.Start();
        return UsageStoreUnderTest.Of(store);
    }

    protected override Task<long> CountAsync() => Schema.ScalarAsync("SELECT count(*) FROM usage_records");
}
