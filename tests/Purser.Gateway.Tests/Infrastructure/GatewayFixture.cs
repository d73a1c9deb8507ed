using Microsoft.Extensions.Logging;
using Purser.Gateway.Hosting;
using Purser.Keys;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// A real gateway on 127.0.0.1 (Kestrel, ephemeral port) in front of a real simulated provider on another loopback
/// port, configured from a YAML file in a temporary directory. Shared by the tests of one collection.
/// </summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const string Secret = "sk-purser-test-main-key";
    public const string LimitedSecret = "sk-purser-test-limited-key";
    public const string ExpiredSecret = "sk-purser-test-expired-key";
    public const string ProviderSecret = "provider-secret-never-shown";

    private SimulatedProviderServer? _simulator;

    public GatewayHost Gateway { get; private set; } = null!;

    public Uri BaseAddress => Gateway.BaseAddress;

    public Uri SimulatorAddress => _simulator!.BaseAddress;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "purser-test-" + Guid.NewGuid().ToString("N"));

    public string ConfigPath => Path.Combine(Directory, "purser.yaml");

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
        await File.WriteAllTextAsync(ConfigPath, Config());
        Gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigPath = ConfigPath,
            Urls = "http://127.0.0.1:0",
            MinimumLogLevel = LogLevel.Warning,
            Environment = name => name == "SIM_PROVIDER_KEY" ? ProviderSecret : null,
        });
        Http.BaseAddress = Gateway.BaseAddress;
    }

    public string Config(string extraModels = "") => $$"""
        server:
          listen: http://127.0.0.1:0
          max_body_bytes: 65536
          upstream_timeout_seconds: 5
        storage:
          sqlite_path: purser.db
        providers:
          sim-openai:
            kind: openai
            base_url: {{SimulatorAddress.AbsoluteUri.TrimEnd('/')}}/v1
            api_key: ${SIM_PROVIDER_KEY}
          sim-anthropic:
            kind: anthropic
            base_url: {{SimulatorAddress.AbsoluteUri.TrimEnd('/')}}/v1
            api_key: ${SIM_PROVIDER_KEY}
        models:
          sim-chat: { provider: sim-openai }
          claude-sim: { provider: sim-anthropic }
          sim-embed: { provider: sim-openai, kind: embeddings }
          sim-cached: { provider: sim-openai, upstream: "sim-chat~cached=8", price: { input: 0.5, output: 1.5, cached_input: 0.25 } }
          sim-slow: { provider: sim-openai, upstream: "sim-chat~out=400,tps=100", price: { input: 0.5, output: 1.5 } }
          claude-slow: { provider: sim-anthropic, upstream: "claude-sim~out=400,tps=100", price: { input: 1, output: 5 } }
          sim-429: { provider: sim-openai, upstream: "sim-chat~fail=429", price: { input: 0.5, output: 1.5 } }
          sim-500: { provider: sim-openai, upstream: "sim-chat~fail=500", price: { input: 0.5, output: 1.5 } }
          claude-429: { provider: sim-anthropic, upstream: "claude-sim~fail=429", price: { input: 1, output: 5 } }
          sim-garbage: { provider: sim-openai, upstream: "sim-chat~fail=malformed_json", price: { input: 0.5, output: 1.5 } }
          sim-badsse: { provider: sim-openai, upstream: "sim-chat~fail=malformed_sse", price: { input: 0.5, output: 1.5 } }
          sim-cut: { provider: sim-openai, upstream: "sim-chat~out=50,fail=cut:5", price: { input: 0.5, output: 1.5 } }
          claude-cut: { provider: sim-anthropic, upstream: "claude-sim~out=50,fail=cut:5", price: { input: 1, output: 5 } }
          sim-timeout: { provider: sim-openai, upstream: "sim-chat~fail=timeout", price: { input: 0.5, output: 1.5 } }
          free-model: { provider: sim-openai, upstream: mystery-model, free: true }
        {{extraModels}}
        keys:
          - id: test-key
            hash: {{KeyHasher.Hash(Secret)}}
          - id: limited-key
            hash: {{KeyHasher.Hash(LimitedSecret)}}
            models: [sim-chat]
          - id: expired-key
            hash: {{KeyHasher.Hash(ExpiredSecret)}}
            expires_at: 2020-01-01T00:00:00Z
        """;

    /// <summary>The usage record of one request, after the batching writer has put it on disk.</summary>
    public async Task<UsageRecord> UsageOfAsync(string requestId)
    {
        await Gateway.FlushUsageAsync();
        var records = await Gateway.Usage.QueryAsync(new UsageQuery { Limit = 100_000 }, CancellationToken.None);
        return Assert.Single(records, r => r.RequestId == requestId);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayCollection : ICollectionFixture<GatewayFixture>
{
    public const string Name = "gateway";
}
