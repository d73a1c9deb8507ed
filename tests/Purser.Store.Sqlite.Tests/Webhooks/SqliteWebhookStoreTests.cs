using Microsoft.Extensions.Time.Testing;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Pricing;
using Purser.Store.Sqlite.Admin;
using Purser.Store.Sqlite.Bedtime;
using Purser.Store.Sqlite.Webhooks;
using Purser.Usage;

namespace Purser.Store.Sqlite.Tests.Webhooks;

public sealed class SqliteWebhookStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _dir.Dispose();

    private static GatewayEvent Event(string id, DateTimeOffset at, string type = "budget.blocked") =>
        new(id, at, type, "key:k", null, null, null, "message " + id, null);

    [Fact]
    public async Task Concurrent_fan_outs_queue_each_event_once_per_interested_endpoint()
    {
        var path = _dir.File("hooks.db");
        var events = new SqliteEventStore(SqliteDatabase.Open(path), _time);
        var store = new SqliteWebhookStore(SqliteDatabase.Open(path));
        await store.CreateEndpointAsync(new WebhookEndpoint("all", new Uri("http://127.0.0.1:1/a"), "s", [], T0), default);
        await store.CreateEndpointAsync(new WebhookEndpoint("trips", new Uri("http://127.0.0.1:1/b"), "s", ["bedtime.tripped"], T0), default);
        await store.CreateEndpointAsync(new WebhookEndpoint("later", new Uri("http://127.0.0.1:1/c"), "s", [], T0.AddHours(1)), default);
        for (var i = 0; i < 50; i++)
        {
            await events.AppendAsync(Event("e" + i, T0.AddSeconds(i), i % 5 == 0 ? "bedtime.tripped" : "budget.blocked"), default);
        }

        // Several "instances" on their own connections fan out at once, in small batches.
        var stores = Enumerable.Range(0, 4).Select(_ => new SqliteWebhookStore(SqliteDatabase.Open(path))).ToArray();
        await Task.WhenAll(stores.Select(s => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                await s.FanOutAsync(e => e.Id, T0, 7, default);
            }
        })));

        var all = await store.DeliveriesAsync("all", 1000, default);
        Assert.Equal(50, all.Count);
        Assert.Equal(50, all.Select(d => d.EventId).Distinct().Count());
        Assert.Equal(10, (await store.DeliveriesAsync("trips", 1000, default)).Count);
        Assert.Empty(await store.DeliveriesAsync("later", 1000, default));
    }

    [Fact]
    public async Task Failed_attempts_wait_for_their_next_attempt_and_delivered_ones_leave_the_queue()
    {
        var path = _dir.File("retry.db");
        var events = new SqliteEventStore(SqliteDatabase.Open(path), _time);
        var store = new SqliteWebhookStore(SqliteDatabase.Open(path));
        await store.CreateEndpointAsync(new WebhookEndpoint("h", new Uri("http://127.0.0.1:1/"), "s", [], T0), default);
        await events.AppendAsync(Event("e1", T0), default);
        await store.FanOutAsync(e => e.Id, T0, 100, default);
        var due = Assert.Single(await store.DueAsync(T0, 10, default));

        await store.RecordAttemptAsync(due.Id, WebhookDeliveryState.Pending, 1, T0.AddSeconds(2), 500, "HTTP 500", default);
        Assert.Empty(await store.DueAsync(T0.AddSeconds(1), 10, default));
        Assert.Equal(T0.AddSeconds(2), await store.NextDueAsync(default));
        Assert.Single(await store.DueAsync(T0.AddSeconds(2), 10, default));

        await store.RecordAttemptAsync(due.Id, WebhookDeliveryState.Delivered, 2, T0.AddSeconds(2), 200, null, default);
        Assert.Empty(await store.DueAsync(T0.AddDays(1), 10, default));
        Assert.Null(await store.NextDueAsync(default));
    }

    [Fact]
    public async Task Spend_history_sums_the_keys_records_in_a_half_open_range()
    {
        var path = _dir.File("spend.db");
        var database = SqliteDatabase.Open(path);
        await using (var usage = new SqliteUsageStore(database, new SqliteStoreOptions { Path = path }, _time))
        {
            usage.Start();
            foreach (var (key, at, usd) in new[] { ("a", T0, 1m), ("a", T0.AddHours(1), 2m), ("b", T0, 4m), ("c", T0, 8m), ("a", T0.AddDays(1), 16m) })
            {
                usage.Record(new UsageRecord { RequestId = Guid.NewGuid().ToString("N"), Timestamp = at, KeyId = key, ModelAlias = "m", Operation = "chat", Cost = Money.FromUsd(usd) });
            }

            await usage.FlushAsync(default);
        }

        var history = new SqliteSpendHistory(database);
        Assert.Equal(Money.FromUsd(3m), await history.SumAsync(["a"], T0, T0.AddDays(1), default));
        Assert.Equal(Money.FromUsd(7m), await history.SumAsync(["a", "b"], T0, T0.AddDays(1), default));
        Assert.Equal(Money.Zero, await history.SumAsync([], T0, T0.AddDays(1), default));
    }

    [Fact]
    public async Task Bedtime_policies_round_trip_and_delete()
    {
        var store = new SqliteBedtimeStore(SqliteDatabase.Open(_dir.File("bedtime.db")), _time);
        var policy = new BedtimePolicy(new ScopeRef(ScopeKind.Team, "platform"), false, "Europe/Oslo", new TimeOnly(22, 30), new TimeOnly(6, 0), 14, 2.5m, Money.FromUsd(3m), "small");
        await store.UpsertAsync(policy, default);
        await store.UpsertAsync(policy with { Multiplier = 3m }, default);

        Assert.Equal(policy with { Multiplier = 3m }, Assert.Single(await store.ListAsync(default)));
        Assert.True(await store.DeleteAsync("team:platform", default));
        Assert.False(await store.DeleteAsync("team:platform", default));
    }
}
