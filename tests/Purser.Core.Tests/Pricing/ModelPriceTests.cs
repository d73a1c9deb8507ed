using Purser.Pricing;
using Purser.Usage;

namespace Purser.Core.Tests.Pricing;

public sealed class ModelPriceTests
{
    private static readonly ModelPrice Gpt4o = new(2_500_000_000, 10_000_000_000, 1_250_000_000);
    private static readonly ModelPrice Sonnet = new(3_000_000_000, 15_000_000_000, 300_000_000, 3_750_000_000);

    [Fact]
    public void Whole_million_tokens_cost_exactly_the_listed_price()
    {
        Assert.Equal(Money.FromUsd(12.50m), Gpt4o.Cost(new TokenUsage(1_000_000, 1_000_000)));
    }

    [Fact]
    public void A_single_token_costs_its_exact_nano_share()
    {
        // $2.50 per million input tokens = 2,500 nano-dollars per token, no rounding needed.
        Assert.Equal(2_500, Gpt4o.Cost(new TokenUsage(1, 0)).NanoUsd);
        Assert.Equal(10_000, Gpt4o.Cost(new TokenUsage(0, 1)).NanoUsd);
    }

    [Fact]
    public void Fractions_of_a_nano_dollar_round_up()
    {
        // $0.0001 per million = 0.1 nano-dollar per token: one token costs one (rounded up) nano-dollar.
        var price = new ModelPrice(100_000, 0);
        Assert.Equal(1, price.Cost(new TokenUsage(1, 0)).NanoUsd);
        Assert.Equal(1, price.Cost(new TokenUsage(10, 0)).NanoUsd);
        Assert.Equal(2, price.Cost(new TokenUsage(11, 0)).NanoUsd);

        // Rounding applies to the sum, not per part: 0.5 + 0.5 nano-dollars is exactly 1.
        Assert.Equal(1, new ModelPrice(500_000, 500_000).Cost(new TokenUsage(1, 1)).NanoUsd);
        Assert.Equal(0, price.Cost(new TokenUsage(0, 0)).NanoUsd);
    }

    [Fact]
    public void Cached_input_tokens_are_billed_at_the_cached_price()
    {
        // 1M prompt tokens of which 400k cached: 600k × 2.50 + 400k × 1.25 = 1.50 + 0.50 USD.
        Assert.Equal(Money.FromUsd(2.00m), Gpt4o.Cost(new TokenUsage(1_000_000, 0, CachedInputTokens: 400_000)));
    }

    [Fact]
    public void Cache_writes_are_billed_at_the_cache_write_price()
    {
        // 1M prompt: 200k read from cache, 300k written, 500k plain; plus 100k output.
        var cost = Sonnet.Cost(new TokenUsage(1_000_000, 100_000, CachedInputTokens: 200_000, CacheWriteTokens: 300_000));

        Assert.Equal(Money.FromUsd((0.5m * 3m) + (0.2m * 0.30m) + (0.3m * 3.75m) + (0.1m * 15m)), cost);
    }

    [Fact]
    public void Missing_cached_and_write_prices_fall_back_to_the_input_price()
    {
        var plain = new ModelPrice(1_000_000_000, 0);

        Assert.Equal(Money.FromUsd(1m), plain.Cost(new TokenUsage(1_000_000, 0, CachedInputTokens: 500_000, CacheWriteTokens: 500_000)));
    }

    [Fact]
    public void Cached_tokens_beyond_the_prompt_are_clamped()
    {
        // A provider reporting more cached than total tokens must not make the call cheaper than all-cached.
        Assert.Equal(Gpt4o.Cost(new TokenUsage(100, 0, CachedInputTokens: 100)), Gpt4o.Cost(new TokenUsage(100, 0, CachedInputTokens: 5_000)));
    }

    [Fact]
    public void Huge_token_counts_do_not_overflow_the_intermediate_product()
    {
        // 1e12 tokens × 75e9 nano per million would overflow a long before dividing; Int128 keeps it exact.
        var opus = new ModelPrice(15_000_000_000, 75_000_000_000);

        var cost = opus.Cost(new TokenUsage(1_000_000_000_000, 1_000_000_000_000));

        Assert.Equal(Money.FromUsd(90_000_000m), cost);
    }

    [Fact]
    public void Free_costs_nothing()
    {
        Assert.Equal(Money.Zero, ModelPrice.Free.Cost(new TokenUsage(1_000_000, 1_000_000, 10, 10)));
    }
}
