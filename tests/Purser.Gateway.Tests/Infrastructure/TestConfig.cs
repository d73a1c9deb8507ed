using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Pricing;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>A gateway state parsed from YAML, for tests that build one background service without a host.</summary>
internal static class TestConfig
{
    public static GatewayState State(string extraYaml = "")
    {
        var yaml = $$"""
            organization: acme
            server:
              listen: http://127.0.0.1:0
            storage:
              sqlite_path: ":memory:"
            providers:
              sim-openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sim }
            models:
              sim-chat: { provider: sim-openai }
            {{extraYaml}}
            """;
        var result = ConfigLoader.Parse(yaml, "test.yaml", _ => null, PriceCatalog.Default);
        Assert.True(result.Success, string.Join("; ", result.Errors));
        return new GatewayState(result.Config!);
    }
}
