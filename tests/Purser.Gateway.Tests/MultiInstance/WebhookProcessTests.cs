using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Webhooks;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Two gateway processes on one PostgreSQL database share the webhook endpoints and their delivery queue: an endpoint
/// registered on A receives the events B records, and each event reaches the receiver once although both instances
/// fan out and drain the queue. Every wait is a bounded poll of what the receiver got.
/// </summary>
public sealed class WebhookProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly ITestOutputHelper _output;
    private TwoGateways _gateways = null!;

    public WebhookProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private GatewayProcess A => _gateways.A;

    private GatewayProcess B => _gateways.B;

    public async Task InitializeAsync() => _gateways = await TwoGateways.StartAsync();

    public async Task DisposeAsync() => await _gateways.DisposeAsync();

    [Fact]
    public async Task A_webhook_created_on_A_gets_exactly_one_delivery_for_each_event_recorded_on_B_or_A()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 200);
        var hook = await _gateways.AdminAsync(A, HttpMethod.Post, "/admin/webhooks", new JsonObject
        {
            ["url"] = receiver.Url.AbsoluteUri,
            ["events"] = new JsonArray("budget.blocked"),
        }, HttpStatusCode.Created);
        var hookId = hook["id"]!.GetValue<string>();

        // B knows the endpoint at once: it reads the shared store.
        var listed = await _gateways.AdminAsync(B, HttpMethod.Get, "/admin/webhooks", null, HttpStatusCode.OK);
        Assert.Contains(listed["data"]!.AsArray(), e => e!["id"]!.GetValue<string>() == hookId);

        // Keys blocked by a $0 cap, each a budget of its own (block events are coalesced per budget and minute), refused
        // mostly on B (where the endpoint was not created) and once on A: both instances record, fan out and deliver.
        var blocked = new List<(GatewayProcess Where, string Secret)>();
        for (var i = 0; i < 6; i++)
        {
            var id = "hooked-" + i;
            var created = await _gateways.AdminAsync(A, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = id }, HttpStatusCode.Created);
            await _gateways.AdminAsync(A, HttpMethod.Put, "/admin/budgets/" + id + "-zero", new JsonObject { ["scope"] = "key:" + id, ["window"] = "daily", ["cap_usd"] = "0" }, HttpStatusCode.OK);
            blocked.Add((i == 5 ? A : B, created["secret"]!.GetValue<string>()));
        }

        foreach (var (where, secret) in blocked)
        {
            await ExpectWithinAsync(where, secret, HttpStatusCode.PaymentRequired, TimeSpan.FromSeconds(10));
        }

        // Every event delivered: the receiver saw six distinct idempotency keys, and the queue says delivered.
        var clock = RealClock.Start();
        while (clock.Elapsed < Bound && receiver.Accepted().Count < blocked.Count)
        {
            await Poll.NextAsync(50);
        }

        Assert.Equal(blocked.Count, receiver.Accepted().Count);
        _output.WriteLine($"{blocked.Count} events delivered in {clock.ElapsedMilliseconds} ms");
        JsonArray deliveries = [];
        while (clock.Elapsed < Bound)
        {
            deliveries = (await _gateways.AdminAsync(A, HttpMethod.Get, $"/admin/webhooks/{hookId}/deliveries", null, HttpStatusCode.OK))["data"]!.AsArray();
            if (deliveries.Count == blocked.Count && deliveries.All(d => d!["state"]!.GetValue<string>() == "delivered"))
            {
                break;
            }

            await Poll.NextAsync(50);
        }

        Assert.Equal(blocked.Count, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(("delivered", 1), (d!["state"]!.GetValue<string>(), d["attempts"]!.GetValue<int>())));

        // A later event, recorded once the first six are delivered, is delivered too: by then any duplicate claim of the
        // first six would have been attempted by the instance that made it (each pass delivers what it claimed first).
        var late = await _gateways.AdminAsync(A, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = "hooked-late" }, HttpStatusCode.Created);
        await _gateways.AdminAsync(A, HttpMethod.Put, "/admin/budgets/hooked-late-zero", new JsonObject { ["scope"] = "key:hooked-late", ["window"] = "daily", ["cap_usd"] = "0" }, HttpStatusCode.OK);
        await ExpectWithinAsync(B, late["secret"]!.GetValue<string>(), HttpStatusCode.PaymentRequired, TimeSpan.FromSeconds(10));
        while (clock.Elapsed < Bound + Bound && receiver.Accepted().Count < blocked.Count + 1)
        {
            await Poll.NextAsync(50);
        }

        Assert.Equal(blocked.Count + 1, receiver.Accepted().Count);
        Assert.Equal(blocked.Count + 1, receiver.Attempts.Count);
        Assert.All(receiver.Attempts, a => Assert.Equal("budget.blocked", a.EventType));
    }

    private async Task ExpectWithinAsync(GatewayProcess gateway, string secret, HttpStatusCode expected, TimeSpan bound)
    {
        var clock = RealClock.Start();
        var last = HttpStatusCode.OK;
        while (clock.Elapsed < bound)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/chat/completions"))
            {
                Content = new StringContent("""{"model":"sim-chat","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using var response = await _gateways.Http.SendAsync(request);
            last = response.StatusCode;
            if (last == expected)
            {
                return;
            }

            await Poll.NextAsync(25);
        }

        Assert.Fail($"expected {(int)expected} from {gateway.BaseAddress}, last got {(int)last}");
    }
}
