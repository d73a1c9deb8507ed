using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Purser.Gateway.Hosting;
using Purser.Keys;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// A gateway with budgets, on a fake clock, in front of the simulated provider. Keys are created per test through the
/// admin API so that tests do not share counters. Worst cases are computed from the exact body bytes the tests send.
/// </summary>
public sealed class BudgetFixture : IAsyncLifetime
{
    public const string AdminSecret = "sk-purser-test-admin";

    /// <summary>server.max_open_tasks_per_key: small, so the cap on open task scopes is reached by a test.</summary>
    public const int MaxOpenTasksPerKey = 3;

    /// <summary>server.max_end_users_per_budget: small, so the bound on a user:* budget's end users is reached by a test.</summary>
    public const int MaxEndUsersPerBudget = 3;

    /// <summary>sim-chat: $0.50 in and $1.50 out per million tokens, in nano-USD per token.</summary>
    public const long InputNanoPerToken = 500;

    public const long OutputNanoPerToken = 1500;

    private readonly bool _leases;
    private readonly string _extraYaml;
    private readonly string? _failOpen;
    private readonly string _extraModels;
    private SimulatedProviderServer? _simulator;
    private bool _stopped;

    public BudgetFixture()
        : this(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero))
    {
    }

    /// <param name="extraYaml">Top-level sections appended to the configuration (e.g. <c>usage:</c>).</param>
    /// <param name="extraModels">Lines appended to the models section, each indented by two spaces.</param>
    internal BudgetFixture(DateTimeOffset start, bool leases = false, string extraYaml = "", string? failOpenLocalCapUsd = null, string extraModels = "")
    {
        _extraModels = extraModels;
        Time = new FakeTimeProvider(start);
        _leases = leases;
        _extraYaml = extraYaml;
        _failOpen = failOpenLocalCapUsd;
    }

    public FakeTimeProvider Time { get; }

    public GatewayHost Gateway { get; private set; } = null!;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "purser-budget-" + Guid.NewGuid().ToString("N"));

    /// <summary>The gateway's SQLite file (ledger, usage records), to inspect after <see cref="StopGatewayAsync"/>.</summary>
    public string DatabasePath => Path.Combine(Directory, "purser.db");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
        var path = Path.Combine(Directory, "purser.yaml");
        await File.WriteAllTextAsync(path, $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
              admin_key_hash: {{KeyHasher.Hash(AdminSecret)}}
              max_open_tasks_per_key: {{MaxOpenTasksPerKey}}
              max_end_users_per_budget: {{MaxEndUsersPerBudget}}
            storage:
              sqlite_path: purser.db
              leases: {{(_leases ? "true" : "false")}}
            {{(_failOpen is { } cap ? "  fail_open: { local_cap_usd: " + cap + " }" : string.Empty)}}
            teams:
              tight-team: {}
              wide-team: {}
            providers:
              sim-openai: { kind: openai, base_url: "{{sim}}/v1", api_key: sim }
              sim-anthropic: { kind: anthropic, base_url: "{{sim}}/v1", api_key: sim }
            models:
              sim-chat: { provider: sim-openai }
              sim-mini: { provider: sim-openai, upstream: sim-chat, price: { input: 0.05, output: 0.15 } }
              claude-sim: { provider: sim-anthropic }
              sim-long: { provider: sim-openai, upstream: "sim-chat~out=5000", price: { input: 0.50, output: 1.50 }, max_output_tokens: 8192 }
              mini-vision: { provider: sim-openai, upstream: gpt-4o-mini }
              sim-embed: { provider: sim-openai, kind: embeddings, price: { input: 0.50, output: 0 } }
            {{_extraModels}}
            {{_extraYaml}}
            """);
        Gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = path,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = LogLevel.Warning,
            Time = Time,
        });
        Http.BaseAddress = Gateway.BaseAddress;
    }

    /// <summary>The worst case the gateway holds for <see cref="ChatBody"/> with that max_tokens, in nano-USD.</summary>
    public static long WorstCaseNano(string body, int maxTokens) =>
        ((Encoding.UTF8.GetByteCount(body) + 256) * InputNanoPerToken) + (maxTokens * OutputNanoPerToken);

    public static string ChatBody(int maxTokens, string model = "sim-chat") =>
        $$"""{"model":"{{model}}","max_tokens":{{maxTokens}},"messages":[{"role":"user","content":"hello budget"}]}""";

    public static string Usd(long nano) => Purser.Pricing.Money.FromNano(nano).ToString();

    /// <summary>Creates a key through the admin API and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string id, string? team = null)
    {
        var body = new JsonObject { ["id"] = id };
        if (team is not null)
        {
            body["team"] = team;
        }

        using var response = await Admin(HttpMethod.Post, "/admin/keys", body);
        var json = await ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json["secret"]!.GetValue<string>();
    }

    /// <summary>Sends an admin API request (for tests of endpoints the fixture has no helper for).</summary>
    public Task<HttpResponseMessage> SendAdminAsync(HttpMethod method, string path, JsonObject? body = null) => Admin(method, path, body);

    public async Task PutBudgetAsync(string id, JsonObject budget)
    {
        using var response = await Admin(HttpMethod.Put, "/admin/budgets/" + id, budget);
        var json = await ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
    }

    /// <summary>The budget's current window as the admin API reports it: spent and held in nano-USD.</summary>
    public async Task<(long Spent, long Held, JsonObject Budget)> BudgetStateAsync(string id)
    {
        using var response = await Admin(HttpMethod.Get, "/admin/budgets", null);
        var json = await ReadJsonAsync(response);
        foreach (var item in json["data"]!.AsArray())
        {
            if (item!["id"]!.GetValue<string>() == id)
            {
                var current = item["current"]!;
                return (Nano(current["spent"]!.GetValue<string>()), Nano(current["held"]!.GetValue<string>()), item.AsObject());
            }
        }

        throw new InvalidOperationException("no budget " + id);
    }

    public async Task<IReadOnlyList<UsageRecord>> UsageOfKeyAsync(string keyId)
    {
        await Gateway.FlushUsageAsync();
        return await Gateway.Usage.QueryAsync(new UsageQuery { KeyId = keyId, Limit = 100_000 }, CancellationToken.None);
    }

    public HttpRequestMessage Embeddings(string secret, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return request;
    }

    public HttpRequestMessage Chat(string secret, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public static long Nano(string usd) => Purser.Pricing.Money.TryParseUsd(usd, out var m) ? m.NanoUsd : throw new FormatException(usd);

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    private Task<HttpResponseMessage> Admin(HttpMethod method, string path, JsonObject? body) =>
        FixtureSupport.AdminAsync(Http, AdminSecret, method, path, body);

    /// <summary>Shuts the gateway down (usage drained, leases returned, databases closed) and keeps its files.</summary>
    public async Task StopGatewayAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await Gateway.DisposeAsync();
        }
    }

    public async Task DisposeAsync()
    {
        await StopGatewayAsync();
        await FixtureSupport.TearDownAsync(Http, null, _simulator, Directory);
    }
}

[CollectionDefinition(Name)]
public sealed class BudgetCollection : ICollectionFixture<BudgetFixture>
{
    public const string Name = "budgets";
}
