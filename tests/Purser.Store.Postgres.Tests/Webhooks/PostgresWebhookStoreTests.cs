using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Ledger.Contract;
using Purser.Store.Postgres.Events;
using Purser.Store.Postgres.Webhooks;

namespace Purser.Store.Postgres.Tests.Webhooks;

/// <summary>The webhook store contract on a fresh PostgreSQL schema per test; each open is another data source.</summary>
public sealed class PostgresWebhookStoreTests : WebhookStoreContractTests, IAsyncLifetime
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

    protected override IWebhookStore OpenWebhooks() => new PostgresWebhookStore(Open());

    protected override IEventStore OpenEvents() => new PostgresEventStore(Open(), Time);

    private PostgresDatabase Open()
    {
        var db = PostgresDatabase.Open(Schema.ConnectionString);
        _databases.Add(db);
        return db;
    }
}
