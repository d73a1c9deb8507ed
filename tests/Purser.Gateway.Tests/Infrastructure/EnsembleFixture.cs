using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Purser.Ensembles;
using Purser.Gateway.Hosting;
using Purser.Keys;
using Purser.Pricing;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway on a fake clock in front of the simulated provider, with ensembles and routes whose members are scripted
/// through the simulator's model options: fixed answer lengths (<c>out=N</c>), failures (<c>fail=500</c>) and slowness
/// (<c>latency=N</c>). Keys and budgets are created per test through the admin API.
/// </summary>
public sealed class EnsembleFixture : IAsyncLifetime
{
    public const string AdminSecret = "sk-purser-test-admin";

    /// <summary>The request the mid-flight test sends: panel answers of 2,000 tokens, five bytes each in the simulator.</summary>
    public const string MidFlightBody = """{"model":"midflight","max_tokens":2000,"messages":[{"role":"user","content":"answer at length"}]}""";

    private static readonly ModelPrice SimPrice = new(500_000_000, 1_500_000_000);
    private static readonly ModelPrice JudgePrice = new(1_000_000_000, 2_000_000_000);

    private SimulatedProviderServer? _simulator;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public GatewayHost Gateway { get; private set; } = null!;

    public HttpClient Http { get; private set; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "purser-ensemble-" + Guid.NewGuid().ToString("N"));

    public string ConfigPath => Path.Combine(Directory, "purser.yaml");

    public string ConfigText { get; private set; } = "";

    /// <summary>
    /// The mid-flight ensemble's token cap: its pre-flight projection plus 1,000, so the plan fits, while the judge's
    /// real input (answers at five bytes a token, projected at four) breaks it by about 3,000 once the panel answered.
    /// </summary>
    public static long MidFlightCap()
    {
        var input = Encoding.UTF8.GetByteCount(MidFlightBody) + 256L;
        var panel = new[] { CallShape.Single(SimPrice, 2000), CallShape.Single(SimPrice, 2000) };
        var (total, _) = EnsemblePlanner.Project(input, Encoding.UTF8.GetByteCount(EnsembleConfig.DefaultSynthesisPrompt), panel, [0, 1], CallShape.Single(JudgePrice, 2000));
        return total.Tokens + 1000;
    }

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        ConfigText = $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
              admin_key_hash: {{KeyHasher.Hash(AdminSecret)}}
            storage:
              sqlite_path: purser.db
            providers:
              sim-openai: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
              sim-anthropic: { kind: anthropic, base_url: "{{sim}}/v1", api_key: sim }
            models:
              pa: { provider: sim-openai, upstream: "sim-chat~out=10", price: { input: 0.5, output: 1.5 } }
              pb: { provider: sim-anthropic, upstream: "claude-sim~out=12", price: { input: 1, output: 5 } }
              pc: { provider: sim-openai, upstream: "sim-chat~out=14", price: { input: 5, output: 15 } }
              jd: { provider: sim-openai, upstream: "sim-chat~out=16", price: { input: 1, output: 2 } }
              broken: { provider: sim-openai, upstream: "sim-chat~fail=500", price: { input: 0.5, output: 1.5 } }
              broken2: { provider: sim-openai, upstream: "sim-chat~fail=500", price: { input: 0.5, output: 1.5 } }
              broken3: { provider: sim-openai, upstream: "sim-chat~fail=500", price: { input: 0.5, output: 1.5 } }
              slow: { provider: sim-openai, upstream: "sim-chat~latency=5000", price: { input: 0.5, output: 1.5 } }
              long-a: { provider: sim-openai, upstream: "sim-chat~out=4000", price: { input: 0.5, output: 1.5 } }
              long-b: { provider: sim-openai, upstream: "sim-chat~out=4000", price: { input: 0.5, output: 1.5 } }
              free-a: { provider: sim-openai, upstream: "sim-chat~out=100000", price: { input: 0.5, output: 1.5 } }
              free-b: { provider: sim-anthropic, upstream: "claude-sim~out=100000", price: { input: 1, output: 5 } }
              free-j: { provider: sim-openai, upstream: "sim-chat~out=100000", price: { input: 1, output: 2 } }
              paced-j: { provider: sim-openai, upstream: "sim-chat~out=60,tps=200", price: { input: 1, output: 2 } }
              paced-ja: { provider: sim-anthropic, upstream: "claude-sim~out=60,tps=200", price: { input: 1, output: 2 } }
              endless-j: { provider: sim-openai, upstream: "sim-chat~out=4000,tps=100", price: { input: 1, output: 2 } }
            routes:
              failover: { targets: [broken, pa], cooldown_seconds: 30 }
              failover2: { targets: [broken2, pb] }
            ensembles:
              full: { panel: [{ model: pa, temperature: 0.2, seed: 7 }, { model: pb, temperature: 0.9, seed: 3 }, pc], judge: jd }
              shrink: { panel: [pa, pb, pc], judge: jd, max_panel_calls: 2 }
              to-judge: { panel: [pa, pb, pc], judge: jd, max_total_tokens: 1200 }
              to-first: { panel: [pa, pb, pc], judge: jd, max_total_tokens: 1200, degrade_to: first_panel }
              to-route: { panel: [pa, pb, pc], judge: jd, max_total_tokens: 1200, degrade_to: failover2 }
              refuse: { panel: [pa, pb, pc], judge: jd, max_total_tokens: 1200, on_exceed: fail }
              tolerant: { panel: [broken3, slow, pa, pb], judge: jd, min_responses: 2, timeout_ms: 400 }
              midflight: { panel: [long-a, long-b], judge: jd, max_total_tokens: {{MidFlightCap()}} }
              table: { panel: [free-a, free-b], judge: free-j }
              paced: { panel: [pa, pb], judge: paced-j }
              paced-a: { panel: [pa, pb], judge: paced-ja }
              endless: { panel: [pa, pb], judge: endless-j }
            """;
        await File.WriteAllTextAsync(ConfigPath, ConfigText);
        await StartGatewayAsync();
    }

    /// <summary>Stops the gateway and starts a new one on the same configuration and database file.</summary>
    public async Task RestartAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        Http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        await StartGatewayAsync();
    }

    private async Task StartGatewayAsync()
    {
        Gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = ConfigPath,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = LogLevel.Warning,
            Time = Time,
        });
        Http.BaseAddress = Gateway.BaseAddress;
    }

    public static string ChatBody(string model, int maxTokens, string content = "which is best?", bool stream = false) =>
        new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = maxTokens,
            ["stream"] = stream,
            ["stream_options"] = stream ? new JsonObject { ["include_usage"] = true } : null,
            ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = content } },
        }.ToJsonString();

    /// <summary>Creates a key through the admin API and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string id)
    {
        using var response = await Admin(HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = id });
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json["secret"]!.GetValue<string>();
    }

    public async Task PutKeyBudgetAsync(string id, string keyId, long capNano)
    {
        using var response = await Admin(HttpMethod.Put, "/admin/budgets/" + id, new JsonObject
        {
            ["scope"] = "key:" + keyId,
            ["window"] = "daily",
            ["timezone"] = "UTC",
            ["mode"] = "reserve",
            ["cap_usd"] = BudgetFixture.Usd(capNano),
        });
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
    }

    public async Task<(long Spent, long Held)> BudgetStateAsync(string id)
    {
        using var response = await Admin(HttpMethod.Get, "/admin/budgets", null);
        var json = await BudgetFixture.ReadJsonAsync(response);
        foreach (var item in json["data"]!.AsArray())
        {
            if (item!["id"]!.GetValue<string>() == id)
            {
                var current = item["current"]!;
                return (BudgetFixture.Nano(current["spent"]!.GetValue<string>()), BudgetFixture.Nano(current["held"]!.GetValue<string>()));
            }
        }

        throw new InvalidOperationException("no budget " + id);
    }

    public async Task<IReadOnlyList<UsageRecord>> UsageOfKeyAsync(string keyId)
    {
        await Gateway.FlushUsageAsync();
        return await Gateway.Usage.QueryAsync(new UsageQuery { KeyId = keyId, Limit = 100_000 }, CancellationToken.None);
    }

    public HttpRequestMessage Chat(string secret, string body, string path = "/v1/chat/completions")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (path == "/v1/messages")
        {
            request.Headers.Add("x-api-key", secret);
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return request;
    }

    public Task<HttpResponseMessage> Admin(HttpMethod method, string path, JsonObject? body) =>
        FixtureSupport.AdminAsync(Http, AdminSecret, method, path, body);

    public Task DisposeAsync() => FixtureSupport.TearDownAsync(Http, Gateway, _simulator, Directory);
}

[CollectionDefinition(Name)]
public sealed class EnsembleCollection : ICollectionFixture<EnsembleFixture>
{
    public const string Name = "ensembles";
}
