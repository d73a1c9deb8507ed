using Microsoft.Extensions.Time.Testing;
using Purser.Events;
using Purser.Events.Webhooks;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IWebhookStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class WebhookStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>A webhook store on the test's database; each call is another instance on the same database.</summary>
    protected abstract IWebhookStore OpenWebhooks();

    /// <summary>An event store on the same database, whose events the webhook store fans out.</summary>
    protected abstract IEventStore OpenEvents();

    private static GatewayEvent Event(string id, DateTimeOffset at, string type = "budget.blocked") =>
        new(id, at, type, "key:k", null, null, null, "message " + id, null);

    private static WebhookEndpoint Endpoint(string id, DateTimeOffset createdAt, params string[] types) =>
        new(id, new Uri("http://127.0.0.1:1/" + id), "secret-" + id, types, createdAt);

    [Fact]
    public async Task Endpoints_are_created_listed_and_deleted_with_their_deliveries()
    {
        var store = OpenWebhooks();
        var a = Endpoint("a", T0);
        var b = Endpoint("b", T0.AddSeconds(1), "budget.blocked", "bedtime.tripped");
        await store.CreateEndpointAsync(b, default);
        await store.CreateEndpointAsync(a, default);

        // Another instance sees them, oldest first, every field intact.
        var listed = await OpenWebhooks().ListEndpointsAsync(default);
        Assert.Equal(["a", "b"], listed.Select(e => e.Id));
        Assert.Equal(a.Url, listed[0].Url);
        Assert.Equal(a.Secret, listed[0].Secret);
        Assert.Empty(listed[0].EventTypes);
        Assert.Equal(b.EventTypes, listed[1].EventTypes);
        Assert.Equal(b.CreatedAt, listed[1].CreatedAt);

        await OpenEvents().AppendAsync(Event("e1", T0.AddSeconds(2)), default);
        Assert.Equal(2, await store.FanOutAsync(e => e.Id, T0, 100, default));

        Assert.True(await OpenWebhooks().DeleteEndpointAsync("a", default));
        Assert.False(await store.DeleteEndpointAsync("a", default));
        Assert.Equal(["b"], (await store.ListEndpointsAsync(default)).Select(e => e.Id));
        Assert.Empty(await store.DeliveriesAsync("a", 10, default));
        Assert.Equal("b", Assert.Single(await store.DueAsync(T0, 10, default)).EndpointId);
    }

    [Fact]
    public async Task Fan_out_queues_each_event_once_per_interested_endpoint_created_before_it()
    {
        var events = OpenEvents();
        var store = OpenWebhooks();
        await store.CreateEndpointAsync(Endpoint("all", T0), default);
        await store.CreateEndpointAsync(Endpoint("trips", T0, "bedtime.tripped"), default);
        await store.CreateEndpointAsync(Endpoint("later", T0.AddHours(1)), default);
        for (var i = 0; i < 30; i++)
        {
            await events.AppendAsync(Event("e" + i, T0.AddSeconds(i), i % 5 == 0 ? "bedtime.tripped" : "budget.blocked"), default);
        }

        // Several instances fan out at once, in small batches, and again after everything is queued.
        var stores = Enumerable.Range(0, 4).Select(_ => OpenWebhooks()).ToArray();
        await Task.WhenAll(stores.Select(s => Task.Run(async () =>
        {
            for (var round = 0; round < 10; round++)
            {
                await s.FanOutAsync(e => "body:" + e.Id, T0, 7, default);
            }
        })));

        var all = await store.DeliveriesAsync("all", 1000, default);
        Assert.Equal(30, all.Count);
        Assert.Equal(30, all.Select(d => d.EventId).Distinct().Count());
        Assert.All(all, d => Assert.Equal("body:" + d.EventId, d.Body));
        Assert.All(all, d => Assert.Equal(WebhookDeliveryState.Pending, d.State));
        Assert.Equal(6, (await store.DeliveriesAsync("trips", 1000, default)).Count);
        Assert.Empty(await store.DeliveriesAsync("later", 1000, default));
        Assert.Equal(0, await store.FanOutAsync(e => e.Id, T0, 100, default));
    }

    [Fact]
    public async Task A_claimed_delivery_is_not_due_again_until_its_lease_ends_and_success_removes_it_from_the_queue()
    {
        var store = await OneQueuedDeliveryAsync();
        var now = Time.GetUtcNow();

        var claimed = Assert.Single(await store.DueAsync(now, 10, default));
        Assert.Equal(0, claimed.Attempts);
        Assert.Empty(await OpenWebhooks().DueAsync(now, 10, default));
        Assert.Equal(now + IWebhookStore.ClaimLease, await store.NextDueAsync(default));

        // An instance that died holding the claim: the delivery comes back once the lease is over, same id (idempotency key).
        Time.Advance(IWebhookStore.ClaimLease);
        var again = Assert.Single(await OpenWebhooks().DueAsync(Time.GetUtcNow(), 10, default));
        Assert.Equal(claimed.Id, again.Id);

        await store.RecordAttemptAsync(again.Id, WebhookDeliveryState.Delivered, 1, Time.GetUtcNow(), 204, null, default);
        Assert.Empty(await store.DueAsync(Time.GetUtcNow().AddDays(2), 10, default));
        Assert.Null(await store.NextDueAsync(default));
        var delivered = Assert.Single(await store.DeliveriesAsync(again.EndpointId, 10, default));
        Assert.Equal((WebhookDeliveryState.Delivered, 1, (int?)204, (string?)null), (delivered.State, delivered.Attempts, delivered.LastStatus, delivered.LastError));
    }

    [Fact]
    public async Task A_failed_attempt_is_retried_at_its_backoff_with_the_same_id_and_a_final_failure_leaves_the_queue()
    {
        var store = await OneQueuedDeliveryAsync();
        var first = Assert.Single(await store.DueAsync(Time.GetUtcNow(), 10, default));
        var backoff = TimeSpan.FromSeconds(2);
        for (var attempts = 1; attempts <= 4; attempts++)
        {
            await store.RecordAttemptAsync(first.Id, WebhookDeliveryState.Pending, attempts, Time.GetUtcNow() + backoff, 500, "HTTP 500", default);
            Assert.Equal(Time.GetUtcNow() + backoff, await store.NextDueAsync(default));

            Time.Advance(backoff - TimeSpan.FromMilliseconds(1));
            Assert.Empty(await OpenWebhooks().DueAsync(Time.GetUtcNow(), 10, default));
            Time.Advance(TimeSpan.FromMilliseconds(1));
            var retry = Assert.Single(await OpenWebhooks().DueAsync(Time.GetUtcNow(), 10, default));
            Assert.Equal((first.Id, attempts, (int?)500, (string?)"HTTP 500"), (retry.Id, retry.Attempts, retry.LastStatus, retry.LastError));
            Assert.Equal(first.Body, retry.Body);
            backoff *= 2;
        }

        await store.RecordAttemptAsync(first.Id, WebhookDeliveryState.Failed, 5, Time.GetUtcNow(), null, "timeout", default);
        Assert.Empty(await store.DueAsync(Time.GetUtcNow().AddDays(2), 10, default));
        Assert.Null(await store.NextDueAsync(default));
        Assert.Equal(WebhookDeliveryState.Failed, Assert.Single(await store.DeliveriesAsync(first.EndpointId, 10, default)).State);
    }

    [Fact]
    public async Task Concurrent_claimers_on_several_instances_never_get_the_same_delivery()
    {
        var store = OpenWebhooks();
        await store.CreateEndpointAsync(Endpoint("h", T0), default);
        var events = OpenEvents();
        const int count = 120;
        for (var i = 0; i < count; i++)
        {
            await events.AppendAsync(Event("e" + i, T0), default);
        }

        while (await store.FanOutAsync(e => e.Id, T0, 50, default) > 0)
        {
        }

        var now = Time.GetUtcNow();
        var claimers = Enumerable.Range(0, 4).Select(_ => OpenWebhooks()).ToArray();
        using var start = new ManualResetEventSlim();
        var runs = claimers.Select(claimer => Task.Run(async () =>
        {
            start.Wait(TimeSpan.FromSeconds(10));
            var mine = new List<string>();
            for (var round = 0; round < 40; round++)
            {
                var batch = await claimer.DueAsync(now, 5, default);
                mine.AddRange(batch.Select(d => d.Id));
            }

            return mine;
        })).ToArray();
        start.Set();
        var claimed = (await Task.WhenAll(runs)).SelectMany(ids => ids).ToList();

        Assert.Equal(count, claimed.Count);
        Assert.Equal(count, claimed.Distinct(StringComparer.Ordinal).Count());
    }

    private async Task<IWebhookStore> OneQueuedDeliveryAsync()
    {
        var store = OpenWebhooks();
        await store.CreateEndpointAsync(Endpoint("h", T0), default);
        await OpenEvents().AppendAsync(Event("e1", T0), default);
        Assert.Equal(1, await store.FanOutAsync(e => e.Id, Time.GetUtcNow(), 100, default));
        return store;
    }
}
