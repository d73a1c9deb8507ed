using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Purser.Gateway.Hosting;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;
using Purser.SimulatedProvider;
using Purser.Usage;
using Purser.Gateway.Pipeline;

namespace Purser.Gateway.Tests.Pipeline;

/// <summary>
/// A real gateway (real clock, so upstream timeouts fire) in front of a simulated provider that misbehaves on demand,
/// with a reserve-mode budget on every test key: what the metering tests and the invariant test attack.
/// </summary>
public sealed class MeteringFixture : IAsyncLifetime
{
    public const string AdminSecret = "sk-purser-metering-admin";

    private SimulatedProviderServer? _simulator;
    private int _keys;

    public GatewayHost Gateway { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "purser-metering-" + Guid.NewGuid().ToString("N"));

    /// <summary>Models that answer well, and one per way a provider can misbehave.</summary>
    public static readonly string[] OpenAiModels =
        ["sim-ok", "sim-slow", "sim-cut", "sim-badsse", "sim-garbage", "sim-500", "sim-429", "sim-huge", "sim-nousage", "sim-jsonstream", "sim-cutbody", "sim-late"];

    public static readonly string[] AnthropicModels = ["claude-ok", "claude-cut", "claude-slow"];

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var path = Path.Combine(Directory, "purser.yaml");
        const string P = "price: { input: 0.5, output: 1.5 }";
        await File.WriteAllTextAsync(path, $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
              admin_key_hash: {{KeyHasher.Hash(AdminSecret)}}
              max_body_bytes: 65536
              upstream_timeout_seconds: 2
            storage:
              sqlite_path: purser.db
            providers:
              sim-openai: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
              sim-anthropic: { kind: anthropic, base_url: "{{sim}}/v1", api_key: sim }
              sim-chatonly: { kind: openai, base_url: "{{sim}}/v1", api_key: sim, responses: false }
            models:
              sim-ok: { provider: sim-openai, upstream: "sim-chat~out=20", {{P}} }
              sim-slow: { provider: sim-openai, upstream: "sim-chat~out=60,tps=200", {{P}} }
              sim-late: { provider: sim-openai, upstream: "sim-chat~out=20,latency=900", {{P}} }
              sim-cut: { provider: sim-openai, upstream: "sim-chat~out=50,fail=cut:5", {{P}} }
              sim-badsse: { provider: sim-openai, upstream: "sim-chat~fail=malformed_sse", {{P}} }
              sim-garbage: { provider: sim-openai, upstream: "sim-chat~fail=malformed_json", {{P}} }
              sim-garbage-2: { provider: sim-openai, upstream: "sim-chat~fail=malformed_json", {{P}} }
              sim-500: { provider: sim-openai, upstream: "sim-chat~fail=500", {{P}} }
              sim-429: { provider: sim-openai, upstream: "sim-chat~fail=429", {{P}} }
              sim-huge: { provider: sim-openai, upstream: "sim-chat~fail=huge_usage", {{P}} }
              sim-nousage: { provider: sim-openai, upstream: "sim-chat~fail=no_usage", {{P}} }
              sim-jsonstream: { provider: sim-openai, upstream: "sim-chat~fail=json_stream", {{P}} }
              sim-cutbody: { provider: sim-openai, upstream: "sim-chat~out=40,fail=cut_body", {{P}} }
              sim-oversize: { provider: sim-openai, upstream: "sim-chat~fail=oversize", {{P}} }
              sim-reason: { provider: sim-openai, upstream: "sim-chat~out=20,reason=30,cached=8", reasoning: true, price: { input: 0.5, output: 1.5, cached_input: 0.25 } }
              o3-cut: { provider: sim-openai, upstream: "o3-mini~reason=40,out=50,fail=cut:5", reasoning: true, price: { input: 1.1, output: 4.4 } }
              sim-timeout: { provider: sim-openai, upstream: "sim-chat~fail=timeout", {{P}} }
              chatonly-ok: { provider: sim-chatonly, upstream: "sim-chat~out=20", price: { input: 2, output: 3 } }
              chatonly-cut: { provider: sim-chatonly, upstream: "sim-chat~out=50,fail=cut:5", price: { input: 2, output: 3 } }
              claude-ok: { provider: sim-anthropic, upstream: "claude-sim~out=20", price: { input: 1, output: 5 } }
              claude-slow: { provider: sim-anthropic, upstream: "claude-sim~out=60,tps=200", price: { input: 1, output: 5 } }
              claude-cut: { provider: sim-anthropic, upstream: "claude-sim~out=50,fail=cut:5", price: { input: 1, output: 5 } }
            routes:
              failover: { targets: [sim-garbage, sim-ok], cooldown_seconds: 30 }
              failover-once: { targets: [sim-garbage-2, sim-ok], cooldown_seconds: 30 }
              claude-route: { targets: [claude-ok, sim-ok], cooldown_seconds: 30 }
              late-route: { targets: [sim-late, sim-ok], cooldown_seconds: 30 }
              responses-route: { targets: [sim-ok, claude-ok], cooldown_seconds: 30 }
              responses-after-500: { targets: [sim-500, sim-ok], cooldown_seconds: 30 }
              responses-after-429: { targets: [sim-429, claude-ok], cooldown_seconds: 30 }
              responses-after-timeout: { targets: [sim-timeout, sim-ok], cooldown_seconds: 30 }
              responses-all-fail: { targets: [sim-429, sim-500], cooldown_seconds: 30 }
              responses-cut-first: { targets: [sim-cut, sim-ok], cooldown_seconds: 30 }
            ensembles:
              panel-with-liar:
                panel: [sim-ok, sim-nousage]
                judge: sim-ok
                min_responses: 1
                timeout_ms: 3000
            """);
        Gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = path,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = LogLevel.Critical,
        });
        Http.BaseAddress = Gateway.BaseAddress;
    }

    /// <summary>A fresh key with a reserve-mode lifetime cap of <paramref name="capUsd"/> (and its id).</summary>
    public async Task<(string Id, string Secret)> KeyWithCapAsync(string capUsd, string? team = null)
    {
        var id = "k" + Interlocked.Increment(ref _keys).ToString(System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
        var key = new JsonObject { ["id"] = id };
        if (team is not null)
        {
            key["team"] = team;
        }

        using (var created = await AdminAsync(HttpMethod.Post, "/admin/keys", key))
        {
            var json = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
            Assert.True(created.IsSuccessStatusCode, json.ToJsonString());
            var secret = json["secret"]!.GetValue<string>();
            using var budget = await AdminAsync(HttpMethod.Put, "/admin/budgets/" + id + "-cap",
                new JsonObject { ["scope"] = "key:" + id, ["window"] = "lifetime", ["cap_usd"] = capUsd, ["mode"] = "reserve" });
            Assert.True(budget.IsSuccessStatusCode, await budget.Content.ReadAsStringAsync());
            return (id, secret);
        }
    }

    /// <summary>The key's budget: cap, spent and held in nano-USD.</summary>
    public async Task<(long Cap, long Spent, long Held)> BudgetAsync(string keyId)
    {
        using var response = await AdminAsync(HttpMethod.Get, "/admin/budgets", null);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        foreach (var item in json["data"]!.AsArray())
        {
            if (item!["id"]!.GetValue<string>() == keyId + "-cap")
            {
                var current = item["current"]!;
                return (Nano(item["cap_usd"]!.GetValue<string>()), Nano(current["spent"]!.GetValue<string>()), Nano(current["held"]!.GetValue<string>()));
            }
        }

        throw new InvalidOperationException("no budget for " + keyId);
    }

    public async Task<IReadOnlyList<UsageRecord>> UsageAsync(string keyId)
    {
        await Gateway.FlushUsageAsync();
        return await Gateway.Usage.QueryAsync(new UsageQuery { KeyId = keyId, Limit = 100_000 }, CancellationToken.None);
    }

    /// <summary>The gateway's count of metered requests that entered its pipeline.</summary>
    public long Entered => Guard.Entered;

    private Purser.Gateway.Pipeline.CallGuard Guard => (Purser.Gateway.Pipeline.CallGuard)Gateway.Services.GetService(typeof(Purser.Gateway.Pipeline.CallGuard))!;

    /// <summary>
    /// Waits until no metered request is in flight (seen twice, 100 ms apart: a request whose caller hung up may reach
    /// the server a moment after the client gave up), bounded; then flushes and returns the key's records.
    /// </summary>
    public async Task<IReadOnlyList<UsageRecord>> QuiescentAsync(string keyId)
    {
        var deadline = Environment.TickCount64 + 20_000;
        var idle = 0;
        while (idle < 2 && Environment.TickCount64 < deadline)
        {
            idle = Guard.InFlight == 0 ? idle + 1 : 0;
            await Poll.NextAsync(100);
        }

        return await UsageAsync(keyId);
    }

    /// <summary>
    /// Waits until the key has <paramref name="count"/> usage records and nothing held (requests whose callers hung up
    /// finish on the server after the client gave up), bounded; returns the records.
    /// </summary>
    public async Task<IReadOnlyList<UsageRecord>> SettledAsync(string keyId, int count)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (true)
        {
            var records = await UsageAsync(keyId);
            var (_, _, held) = await BudgetAsync(keyId);
            if ((records.Count >= count && held == 0) || Environment.TickCount64 > deadline)
            {
                return records;
            }

            await Poll.NextAsync(25);
        }
    }

    public static HttpRequestMessage Chat(string secret, string body, string path = "/v1/chat/completions")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (path.StartsWith("/v1/messages", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("x-api-key", secret);
            request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return request;
    }

    public static HttpRequestMessage Raw(string secret, byte[] body, string path = "/v1/chat/completions")
    {
        var request = Chat(secret, "{}", path);
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    public static long Nano(string usd) => Purser.Pricing.Money.TryParseUsd(usd, out var m) ? m.NanoUsd : throw new FormatException(usd);

    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, JsonObject? body) =>
        FixtureSupport.AdminAsync(Http, AdminSecret, method, path, body);

    public Task DisposeAsync() => FixtureSupport.TearDownAsync(Http, Gateway, _simulator, Directory);
}

[CollectionDefinition(Name)]
public sealed class MeteringCollection : ICollectionFixture<MeteringFixture>
{
    public const string Name = "metering";
}
