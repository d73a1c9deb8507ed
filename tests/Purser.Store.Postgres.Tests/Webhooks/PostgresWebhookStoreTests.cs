using Npgsql;
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

    [Fact]
    public async Task An_event_whose_insert_commits_after_a_later_one_is_still_fanned_out()
    {
        var store = OpenWebhooks();
        await store.CreateEndpointAsync(new WebhookEndpoint("h", new Uri("http://127.0.0.1:1/h"), "s", [], T0), default);

        // e1 draws its seq first but commits last: a cursor moved past e2 alone would skip it for good.
        await using var slow = new NpgsqlConnection(Schema.ConnectionString);
        await slow.OpenAsync();
        await using var transaction = await slow.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand("INSERT INTO events (id, timestamp, type, message, recorded_at) VALUES ('e1', $1, 'budget.blocked', 'm', 0)", slow, transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = T0.ToUnixTimeMilliseconds() });
            await insert.ExecuteNonQueryAsync();
        }

        await OpenEvents().AppendAsync(new GatewayEvent("e2", T0, "budget.blocked", null, null, null, null, "m", null), default);
        var fanOut = store.FanOutAsync(e => e.Id, T0, 100, default);

        // The fan-out waits for the open insert (observable as an ungranted lock on events) rather than passing it by.
        for (var i = 0; i < 400 && await Schema.ScalarAsync("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'events'::regclass") == 0; i++)
        {
            Assert.False(fanOut.IsCompleted, "the fan-out did not wait for the insert in flight");
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }

        Assert.False(fanOut.IsCompleted);
        await transaction.CommitAsync();
        await fanOut;
        await store.FanOutAsync(e => e.Id, T0, 100, default);

        Assert.Equal(["e1", "e2"], (await store.DeliveriesAsync("h", 10, default)).Select(d => d.EventId).Order(StringComparer.Ordinal));
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
