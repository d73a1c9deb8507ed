using Purser.Pricing;
using Purser.Usage;

namespace Purser.Core.Tests.Pricing;

/// <summary>Each price dimension a provider bills by (issue 13).</summary>
public sealed class PriceDimensionTests
{
    private static ModelPrice Price(string model) => PriceCatalog.Default.Entries[model].Price;

    [Fact]
    public void One_hour_cache_writes_cost_twice_the_input_rate_and_five_minute_writes_one_and_a_quarter()
    {
        var sonnet = Price("claude-sonnet-4-5");

        Assert.Equal(Money.FromUsd(0.375m), sonnet.Cost(new TokenUsage(100_000, 0, CacheWriteTokens: 100_000)));
        Assert.Equal(Money.FromUsd(0.6m), sonnet.Cost(new TokenUsage(100_000, 0, CacheWriteTokens: 100_000, CacheWrite1hTokens: 100_000)));
        Assert.Equal(Money.FromUsd((0.375m / 2) + 0.3m), sonnet.Cost(new TokenUsage(100_000, 0, CacheWriteTokens: 100_000, CacheWrite1hTokens: 50_000)));
    }

    [Fact]
    public void Input_above_the_long_context_threshold_prices_the_whole_call_at_the_long_rates()
    {
        var sonnet = Price("claude-sonnet-4-5");

        Assert.Equal(Money.FromUsd(0.6m + 0.015m), sonnet.Cost(new TokenUsage(200_000, 1_000)));
        Assert.Equal(Money.FromUsd((200_001 * 6m / 1_000_000) + 0.0225m), sonnet.Cost(new TokenUsage(200_001, 1_000)));
        Assert.Equal(Money.FromUsd((300_000 * 2.50m / 1_000_000) + 0.015m), Price("gemini-2.5-pro").Cost(new TokenUsage(300_000, 1_000)));
    }

    [Fact]
    public void A_call_is_priced_at_the_tier_the_response_names()
    {
        var gpt5 = Price("gpt-5");
        var usage = new TokenUsage(1_000_000, 1_000_000);

        Assert.Equal(Money.FromUsd(11.25m), gpt5.Cost(usage));
        Assert.Equal(Money.FromUsd(22.50m), gpt5.Cost(usage with { Tier = ServiceTier.Priority }));
        Assert.Equal(Money.FromUsd(5.625m), gpt5.Cost(usage with { Tier = ServiceTier.Flex }));

        // No published priority rate: twice the standard rate, above every published one.
        Assert.Equal(Money.FromUsd(2 * 0.45m), Price("gpt-5-nano").Cost(usage with { Tier = ServiceTier.Priority }));
    }

    [Fact]
    public void Server_tool_uses_are_charged_per_use()
    {
        Assert.Equal(Money.FromUsd(0.02m), Price("claude-haiku-4-5").Cost(new TokenUsage(0, 0, WebSearchRequests: 2)));
    }

    [Fact]
    public void Dated_snapshots_priced_differently_are_priced_as_themselves()
    {
        Assert.True(PriceCatalog.Default.TryGet("gpt-4o-2024-05-13", out var may));
        Assert.Equal(Money.FromUsd(20m), may.Price.Cost(new TokenUsage(1_000_000, 1_000_000)));
        Assert.True(PriceCatalog.Default.TryGet("gpt-4o-2024-08-06", out var august));
        Assert.Equal(Money.FromUsd(12.50m), august.Price.Cost(new TokenUsage(1_000_000, 1_000_000)));
    }

    [Theory]
    [InlineData("gpt-5.1", true)]
    [InlineData("o1", true)]
    [InlineData("o3-mini", true)]
    [InlineData("o3-pro", true)]
    [InlineData("claude-opus-4-20250514", false)]
    [InlineData("claude-3-7-sonnet-20250219", false)]
    [InlineData("text-embedding-ada-002", false)]
    [InlineData("gemini-2.5-flash", true)]
    [InlineData("mistral-large-latest", false)]
    [InlineData("deepseek-chat", false)]
    [InlineData("deepseek-reasoner", true)]
    public void The_catalog_knows_the_current_models_their_windows_and_which_reason(string model, bool reasoning)
    {
        Assert.True(PriceCatalog.Default.TryGet(model, out var entry));
        Assert.True(entry.ContextWindow > 0);
        Assert.Equal(reasoning, entry.Reasoning);
    }
}
