using Purser.Pricing;

namespace Purser.Core.Tests.Pricing;

public sealed class PriceCatalogTests
{
    [Theory]
    [InlineData("gpt-4o", "gpt-4o")]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("gpt-4o-mini", "gpt-4o-mini")]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano")]
    [InlineData("gpt-5-mini-2025-08-07", "gpt-5-mini")]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
    [InlineData("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("claude-3-5-haiku-20241022", "claude-3-5-haiku")]
    [InlineData("claude-opus-4-1-20250805", "claude-opus-4-1")]
    [InlineData("claude-3-5-haiku-latest", "claude-3-5-haiku")]
    public void Dated_snapshots_resolve_to_their_catalog_model(string upstream, string expected)
    {
        Assert.True(PriceCatalog.Default.TryGet(upstream, out var entry));
        Assert.Same(PriceCatalog.Default.Entries[expected], entry);
    }

    [Fact]
    public void A_different_model_sharing_a_prefix_is_not_priced_as_its_namesake()
    {
        var both = CatalogWith(("gpt-4o", 1), ("gpt-4o-mini", 2));
        Assert.True(both.TryGet("gpt-4o-mini", out var exact));
        Assert.Equal(2, exact.Price.InputPerMillion);
        Assert.True(both.TryGet("gpt-4o-mini-2024-07-18", out var snapshot));
        Assert.Equal(2, snapshot.Price.InputPerMillion);

        var baseOnly = CatalogWith(("gpt-4o", 1));
        Assert.False(baseOnly.TryGet("gpt-4o-mini", out _));
        Assert.False(PriceCatalog.Default.TryGet("gpt-4o-realtime-preview", out _));
        Assert.False(PriceCatalog.Default.TryGet("o3-deep-research", out _));
    }

    [Theory]
    [InlineData("gpt-4")]
    [InlineData("gpt-4o2")]
    [InlineData("gpt")]
    [InlineData("llama-3-70b")]
    [InlineData("")]
    [InlineData("-gpt-4o")]
    [InlineData("GPT-4O")]
    public void Names_that_are_not_a_catalog_name_or_a_dash_extension_are_unknown(string upstream)
    {
        Assert.False(PriceCatalog.Default.TryGet(upstream, out var entry));
        Assert.Null(entry);
    }

    [Fact]
    public void Default_catalog_holds_the_published_prices_exactly()
    {
        var catalog = PriceCatalog.Default;

        Assert.Equal(44, catalog.Count);
        Assert.Equal((new ModelPrice(2_500_000_000, 10_000_000_000, 1_250_000_000), 16_384), BaseRates(catalog.Entries["gpt-4o"]));
        Assert.Equal((new ModelPrice(150_000_000, 600_000_000, 75_000_000), 16_384), BaseRates(catalog.Entries["gpt-4o-mini"]));
        Assert.Equal((new ModelPrice(50_000_000, 400_000_000, 5_000_000), 128_000), BaseRates(catalog.Entries["gpt-5-nano"]));
        Assert.Equal((new ModelPrice(1_100_000_000, 4_400_000_000, 275_000_000), 100_000), BaseRates(catalog.Entries["o4-mini"]));
        Assert.Equal((new ModelPrice(130_000_000, 0), 0), BaseRates(catalog.Entries["text-embedding-3-large"]));
        Assert.Equal((new ModelPrice(15_000_000_000, 75_000_000_000, 1_500_000_000, 18_750_000_000), 32_000), BaseRates(catalog.Entries["claude-opus-4-1"]));
        Assert.Equal((new ModelPrice(800_000_000, 4_000_000_000, 80_000_000, 1_000_000_000), 8_192), BaseRates(catalog.Entries["claude-3-5-haiku"]));
        Assert.Equal((new ModelPrice(500_000_000, 1_500_000_000, 250_000_000), 4_096), BaseRates(catalog.Entries["sim-chat"]));
        Assert.Equal((new ModelPrice(20_000_000, 0), 0), BaseRates(catalog.Entries["sim-embed"]));
        Assert.Equal((new ModelPrice(1_000_000_000, 5_000_000_000, 100_000_000, 1_250_000_000), 4_096), BaseRates(catalog.Entries["claude-sim"]));
    }

    /// <summary>The four base rates and the output ceiling (the tiers and windows are checked in PriceDimensionTests).</summary>
    private static (ModelPrice Price, int MaxOutput) BaseRates(CatalogEntry entry) =>
        (new ModelPrice(entry.Price.InputPerMillion, entry.Price.OutputPerMillion, entry.Price.CachedInputPerMillion, entry.Price.CacheWritePerMillion), entry.MaxOutputTokens);


    [Fact]
    public void Empty_catalog_knows_nothing_and_With_nothing_returns_the_same_catalog()
    {
        Assert.Equal(0, PriceCatalog.Empty.Count);
        Assert.False(PriceCatalog.Empty.TryGet("gpt-4o", out _));
        Assert.Same(PriceCatalog.Default, PriceCatalog.Default.With(new Dictionary<string, CatalogEntry>()));
    }

    [Fact]
    public void With_overrides_and_adds_without_changing_the_original()
    {
        var cheap = new CatalogEntry(new ModelPrice(1, 1), 10);
        var added = new CatalogEntry(new ModelPrice(2, 2), 20);

        var custom = PriceCatalog.Default.With(new Dictionary<string, CatalogEntry> { ["gpt-4o"] = cheap, ["my-model"] = added });

        Assert.True(custom.TryGet("gpt-4o-2024-08-06", out var overridden));
        Assert.Same(cheap, overridden);
        Assert.True(custom.TryGet("my-model", out var fresh));
        Assert.Same(added, fresh);
        Assert.Equal(PriceCatalog.Default.Count + 1, custom.Count);
        Assert.Equal(2_500_000_000, PriceCatalog.Default.Entries["gpt-4o"].Price.InputPerMillion);
        Assert.False(PriceCatalog.Default.TryGet("my-model", out _));
    }

    private static PriceCatalog CatalogWith(params (string Name, long Input)[] entries)
    {
        var overrides = new Dictionary<string, CatalogEntry>();
        foreach (var (name, input) in entries)
        {
            overrides[name] = new CatalogEntry(new ModelPrice(input, input), 100);
        }

        return PriceCatalog.Empty.With(overrides);
    }
}
