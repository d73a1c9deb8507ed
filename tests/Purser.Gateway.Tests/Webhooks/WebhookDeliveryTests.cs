using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Gateway.Tests.Bedtime;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Gateway.Webhooks;
using Purser.Store.Sqlite;
using Purser.Store.Sqlite.Admin;
using Purser.Store.Sqlite.Webhooks;

namespace Purser.Gateway.Tests.Webhooks;

/// <summary>Webhooks against a real receiver on 127.0.0.1, with the gateway's clock faked (retries wait on it).</summary>
public sealed class WebhookDeliveryTests : IAsyncLifetime
{
    private BudgetFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await BedtimeTestKit.StartAsync(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private static string Hmac(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    private async Task<(string Id, string Secret)> RegisterAsync(Uri url, params string[] events)
    {
        var (response, json) = await _fixture.AdminAsync(HttpMethod.Post, "/admin/webhooks", new JsonObject
        {
            ["url"] = url.AbsoluteUri,
            ["events"] = new JsonArray(events.Select(e => (JsonNode)e).ToArray()),
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (json["id"]!.GetValue<string>(), json["secret"]!.GetValue<string>());
    }

    /// <summary>
    /// A key whose every request is refused by a $0 budget. Block events are coalesced to the first per budget and UTC
    /// minute, so the tests move the clock a minute on between the requests that should each raise one.
    /// </summary>
    private async Task<string> BlockedKeyAsync(string id)
    {
        var secret = await _fixture.CreateKeyAsync(id);
        await _fixture.PutBudgetAsync(id + "-zero", new JsonObject { ["scope"] = "key:" + id, ["cap_usd"] = "0" });
        return secret;
    }

    /// <summary>Moves the fake clock a second at a time (the dispatcher's poll and backoff run on it) until the condition holds.</summary>
    private async Task PumpUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await Poll.NextAsync(15);
        }

        Assert.True(condition(), "the webhook deliveries did not arrive in time");
    }

    [Fact]
    public async Task A_receiver_answering_500_then_200_gets_every_event_once_in_effect_signed()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, attempt) => attempt == 1 ? 500 : 200);
        var (endpointId, hookSecret) = await RegisterAsync(receiver.Url, "budget.blocked");
        var key = await BlockedKeyAsync("hooked");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(402, (await _fixture.ChatAsync(key)).Status);
            _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        }

        await PumpUntilAsync(() => receiver.Accepted().Count == 3);

        // Nothing more arrives once each delivery was accepted, however long the clock runs.
        var settled = receiver.Attempts.Count;
        for (var i = 0; i < 30; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(10));
            await Poll.NextAsync(5);
        }

        Assert.Equal(settled, receiver.Attempts.Count);
        Assert.Equal(6, settled);
        foreach (var group in receiver.Attempts.GroupBy(a => a.IdempotencyKey))
        {
            // The retry is the same delivery: same idempotency key, same signed body.
            Assert.Equal([500, 200], group.Select(a => a.Status).ToArray());
            Assert.Single(group.Select(a => a.Body).Distinct());
            Assert.All(group, a => Assert.Equal(Hmac(hookSecret, a.Body), a.Signature));
            Assert.All(group, a => Assert.Equal("budget.blocked", a.EventType));
        }

        var delivered = receiver.Accepted().Values.Select(a => JsonNode.Parse(a.Body)!["id"]!.GetValue<string>()).Order().ToArray();
        var recorded = (await _fixture.EventsAsync("budget.blocked", "key:hooked", 3)).Select(e => e["id"]!.GetValue<string>()).Order().ToArray();
        Assert.Equal(recorded, delivered);

        var (_, deliveries) = await _fixture.AdminAsync(HttpMethod.Get, $"/admin/webhooks/{endpointId}/deliveries");
        Assert.All(deliveries["data"]!.AsArray(), d =>
        {
            Assert.Equal("delivered", d!["state"]!.GetValue<string>());
            Assert.Equal(2, d["attempts"]!.GetValue<int>());
        });
    }

    [Fact]
    public async Task A_hung_receiver_adds_no_request_latency_and_loses_no_event()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        receiver.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await RegisterAsync(receiver.Url);
        var key = await BlockedKeyAsync("stalled");

        // Get the dispatcher stuck on the first delivery, then measure requests while it is.
        Assert.Equal(402, (await _fixture.ChatAsync(key)).Status);
        await PumpUntilAsync(() => true);
        for (var i = 0; i < 5; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
            await Poll.NextAsync(20);
        }

        var slowest = TimeSpan.Zero;
        for (var i = 0; i < 10; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromMinutes(1));
            var watch = RealClock.Start();
            Assert.Equal(402, (await _fixture.ChatAsync(key)).Status);
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
        }

        Assert.True(slowest < TimeSpan.FromSeconds(1), $"a request took {slowest.TotalMilliseconds} ms while the receiver hung");

        receiver.Hold.SetResult();
        receiver.Hold = null;
        await PumpUntilAsync(() => receiver.Accepted().Values.Count(a => a.EventType == "budget.blocked") == 11);
    }

    [Fact]
    public async Task Pending_deliveries_resume_after_a_restart_without_duplicates()
    {
        var down = true;
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => down ? 503 : 200);
        var path = Path.Combine(_fixture.Directory, "restart.db");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var database = SqliteDatabase.Open(path);
        var store = new SqliteWebhookStore(database);
        await store.CreateEndpointAsync(new WebhookEndpoint("wh_restart", receiver.Url, "restart-secret-0123456789", [], time.GetUtcNow()), CancellationToken.None);
        var events = new SqliteEventStore(database, time);
        for (var i = 0; i < 2; i++)
        {
            await events.AppendAsync(new GatewayEvent("evt_restart_" + i, time.GetUtcNow(), "bedtime.tripped", "key:k", null, null, null, "tripped", null), CancellationToken.None);
        }

        // First life: the receiver is down; every attempt fails and is rescheduled.
        using (var first = new WebhookDispatcher(store, time, NullLogger<WebhookDispatcher>.Instance))
        {
            await first.StartAsync(CancellationToken.None);
            for (var i = 0; i < 2000 && receiver.Attempts.Count < 2; i++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Poll.NextAsync(15);
            }

            await first.StopAsync(CancellationToken.None);
        }

        Assert.True(receiver.Attempts.Count >= 2);
        Assert.Empty(receiver.Accepted());

        // Second life, on a fresh connection to the same file: the queue picks up where it was.
        down = false;
        var reopened = new SqliteWebhookStore(SqliteDatabase.Open(path));
        using var second = new WebhookDispatcher(reopened, time, NullLogger<WebhookDispatcher>.Instance);
        // Every pending delivery is due at once (a loaded machine may have let the first life run up the backoff), so
        // the poll below waits only for the dispatcher's own work; its bound is generous and ends as soon as both land.
        time.Advance(WebhookDispatcher.LongestRetry);
        await second.StartAsync(CancellationToken.None);
        for (var i = 0; i < 2000 && receiver.Accepted().Count < 2; i++)
        {
            time.Advance(WebhookDispatcher.PollPeriod);
            await Poll.NextAsync(15);
        }

        await second.StopAsync(CancellationToken.None);
        var accepted = receiver.Accepted();
        Assert.Equal(2, accepted.Count);
        Assert.Equal(["evt_restart_0", "evt_restart_1"], accepted.Values.Select(a => JsonNode.Parse(a.Body)!["id"]!.GetValue<string>()).Order().ToArray());
        Assert.All(accepted.Values, a => Assert.Equal(Hmac("restart-secret-0123456789", a.Body), a.Signature));
    }

    [Theory]
    [InlineData("ftp://example.test/hook")]
    [InlineData("not a url")]
    [InlineData("/relative")]
    public async Task A_webhook_url_that_is_not_http_is_a_400_naming_url(string url)
    {
        var (response, json) = await _fixture.AdminAsync(HttpMethod.Post, "/admin/webhooks", new JsonObject { ["url"] = url });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("url", json["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Endpoints_are_listed_without_their_secret_and_can_be_deleted()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        var (id, _) = await RegisterAsync(receiver.Url, "bedtime.tripped", "bedtime.woke");
        var (_, list) = await _fixture.AdminAsync(HttpMethod.Get, "/admin/webhooks");
        var listed = list["data"]!.AsArray().Single(e => e!["id"]!.GetValue<string>() == id)!;
        Assert.Null(listed["secret"]);
        Assert.Equal(2, listed["events"]!.AsArray().Count);

        var (deleted, _) = await _fixture.AdminAsync(HttpMethod.Delete, "/admin/webhooks/" + id);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var (again, _) = await _fixture.AdminAsync(HttpMethod.Delete, "/admin/webhooks/" + id);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }
}
