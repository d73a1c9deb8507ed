using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

/// <summary>A model with no price can serve no request: the configuration that defines it is refused (issue 13).</summary>
public sealed class UnpricedModelTests
{
    private static string Config(string models, string rest = "") => $"""
        providers:
          p: {"{ kind: openai }"}
        models:
        {models}
        keys:
          - id: agent-a
            hash: {Hash('a')}
        {rest}
        """;

    [Fact]
    public void A_plain_model_with_no_price_is_an_error_naming_it()
    {
        var error = SingleError(Config("  mystery: { provider: p, upstream: mystery-model }"));

        Assert.Equal("models.mystery", error.Field);
        Assert.Contains("no price", error.Message, StringComparison.Ordinal);
        Assert.Contains("free: true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bedtime_degrade_model_with_no_price_is_refused()
    {
        var result = Parse(Config(
            "  big: { provider: p, upstream: gpt-4o }\n  night: { provider: p, upstream: mystery-model }",
            "bedtime:\n  - scope: key:agent-a\n    degrade_model: night\n"));

        Assert.False(result.Success);
        Assert.Contains(result.Errors, e => e.Field == "models.night" && e.Message.Contains("no price", StringComparison.Ordinal));
    }

    [Fact]
    public void A_budget_fallback_or_route_target_with_no_price_is_refused()
    {
        var result = Parse(Config(
            "  big: { provider: p, upstream: gpt-4o }\n  cheap: { provider: p, upstream: local-llama }",
            "budgets:\n  - scope: key:agent-a\n    window: daily\n    cap_usd: 1\n    degrade: { fallback_model: cheap }\n"));

        Assert.False(result.Success);
        Assert.Contains(result.Errors, e => e.Field == "models.cheap");
    }

    [Fact]
    public void Priced_catalog_and_free_models_load()
    {
        var config = ParseValid(Config(
            "  big: { provider: p, upstream: gpt-4o-2024-08-06 }\n  local: { provider: p, upstream: llama, free: true }\n  own: { provider: p, upstream: llama, price: { input: 1, output: 2 } }"));

        Assert.Equal(3, config.Models.Count);
    }
}
