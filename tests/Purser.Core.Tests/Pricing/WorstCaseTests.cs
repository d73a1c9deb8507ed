using Purser.Pricing;
using Purser.Usage;

namespace Purser.Core.Tests.Pricing;

/// <summary>The worst case of a request: each content kind bounded, or refused as unbounded (issue 13).</summary>
public sealed class WorstCaseTests
{
    private static readonly ModelPrice Mini = PriceCatalog.Default.Entries["gpt-4o-mini"].Price;

    [Fact]
    public void Every_choice_is_held_at_its_output_limit()
    {
        var shape = RequestShape.Text(1_000);
        shape.Choices = 128;

        var bound = WorstCases.Of(shape, "gpt-4o-mini", anthropic: false, 128_000, 100);

        Assert.Equal(12_800, bound.OutputTokens);
        Assert.Equal(1_000 + WorstCases.Margin, bound.InputTokens);
        Assert.Equal(Mini.Cost(new TokenUsage(1_256, 12_800)), bound.Cost(Mini));
    }

    [Fact]
    public void A_high_detail_image_is_bounded_by_openais_tile_formula_per_model()
    {
        // 2048 × 768: 4 × 2 tiles. gpt-4o-mini bills 2,833 + 8 × 5,667 = 48,169; gpt-4o 85 + 8 × 170 = 1,445.
        var image = new ImageInput(2048, 768, ImageDetail.High);
        Assert.Equal(48_169, ImageTokens.Bound(image, "gpt-4o-mini-2024-07-18", anthropic: false));
        Assert.Equal(1_445, ImageTokens.Bound(image, "gpt-4o", anthropic: false));
        Assert.Equal(70 + (8 * 140), ImageTokens.Bound(image, "gpt-5", anthropic: false));
        Assert.Equal(2_833, ImageTokens.Bound(image with { Detail = ImageDetail.Low }, "gpt-4o-mini", anthropic: false));

        // 1024 × 1024 → 768 × 768 → 4 tiles: the documented 765 tokens on gpt-4o.
        Assert.Equal(765, ImageTokens.Bound(new ImageInput(1024, 1024, ImageDetail.High), "gpt-4o", anthropic: false));

        // Unknown size: the formula's maximum (8 tiles).
        Assert.Equal(48_169, ImageTokens.Bound(new ImageInput(0, 0, ImageDetail.Auto), "gpt-4o-mini", anthropic: false));
    }

    [Fact]
    public void Patch_models_and_anthropic_use_their_own_formulas()
    {
        // gpt-4.1-mini: 32 px patches capped at 1,536, × 1.62.
        Assert.Equal(2_489, ImageTokens.Bound(new ImageInput(0, 0, ImageDetail.High), "gpt-4.1-mini", anthropic: false));
        Assert.Equal(1_659, ImageTokens.Bound(new ImageInput(1024, 1024, ImageDetail.High), "gpt-4.1-mini", anthropic: false)); // 1024 patches
        // Anthropic: w·h/750, capped where the provider scales the image down.
        Assert.Equal(1_399, ImageTokens.Bound(new ImageInput(1024, 1024, ImageDetail.Auto), "claude-sonnet-4-5", anthropic: true));
        Assert.Equal(ImageTokens.AnthropicCeiling, ImageTokens.Bound(new ImageInput(8000, 8000, ImageDetail.Auto), "claude-sonnet-4-5", anthropic: true));
        Assert.Equal(ImageTokens.AnthropicCeiling, ImageTokens.Bound(new ImageInput(0, 0, ImageDetail.Auto), "claude-sonnet-4-5", anthropic: true));
        // No published formula: unknown.
        Assert.Null(ImageTokens.Bound(new ImageInput(10, 10, ImageDetail.Auto), "gemini-2.5-pro", anthropic: false));
    }

    [Fact]
    public void Images_are_added_to_the_text_bound()
    {
        var shape = RequestShape.Text(500);
        shape.Images.Add(new ImageInput(2048, 768, ImageDetail.High));
        shape.Images.Add(new ImageInput(0, 0, ImageDetail.Low));

        var bound = WorstCases.Of(shape, "gpt-4o-mini", anthropic: false, 128_000, 10);

        Assert.Equal(500 + WorstCases.Margin + 48_169 + 2_833, bound.InputTokens);
        Assert.True(bound.IsBounded);
    }

    [Fact]
    public void A_document_is_bounded_by_the_context_window_or_is_unbounded()
    {
        var shape = RequestShape.Text(500);
        shape.UnsizedContent = 1;

        var known = WorstCases.Of(shape, "claude-sonnet-4-5", anthropic: true, 200_000, 10);
        Assert.True(known.IsBounded);
        Assert.Equal(200_000, known.InputTokens);

        var unknown = WorstCases.Of(shape, "some-local-model", anthropic: false, null, 10);
        Assert.False(unknown.IsBounded);
        Assert.Contains("context window", unknown.Unbounded, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_on_a_model_without_a_formula_is_bounded_by_the_context_window()
    {
        var shape = RequestShape.Text(100);
        shape.Images.Add(new ImageInput(10, 10, ImageDetail.Auto));

        Assert.Equal(1_048_576, WorstCases.Of(shape, "gemini-2.5-pro", anthropic: false, 1_048_576, 10).InputTokens);
        Assert.False(WorstCases.Of(shape, "llama", anthropic: false, null, 10).IsBounded);
    }

    [Fact]
    public void The_context_window_caps_text_input()
    {
        var bound = WorstCases.Of(RequestShape.Text(5_000_000), "gpt-4o", anthropic: false, 128_000, 10);

        Assert.Equal(128_000, bound.InputTokens);
    }

    [Fact]
    public void Server_tools_add_their_fees_and_passes_or_are_unbounded_without_max_uses()
    {
        var price = PriceCatalog.Default.Entries["claude-sonnet-4-5"].Price;
        var shape = RequestShape.Text(1_000);
        shape.Tools = 1;
        shape.ServerTools.Add(new ServerToolInput("web_search_20250305", 3, ChargedPerUse: true));

        var bound = WorstCases.Of(shape, "claude-sonnet-4-5", anthropic: true, 200_000, 1_000);

        Assert.True(bound.IsBounded);
        Assert.Equal(3, bound.ToolUses);
        Assert.Equal(4 * 200_000, bound.InputTokens); // 4 passes, each at most the window
        Assert.Equal(4 * 1_000, bound.OutputTokens);
        Assert.Equal(price.Cost(new TokenUsage(800_000, 4_000)) + Money.FromUsd(0.03m), bound.Cost(price));

        var endless = RequestShape.Text(1_000);
        endless.ServerTools.Add(new ServerToolInput("web_search_20250305", null, ChargedPerUse: true));
        var refused = WorstCases.Of(endless, "claude-sonnet-4-5", anthropic: true, 200_000, 1_000);
        Assert.False(refused.IsBounded);
        Assert.Contains("max_uses", refused.Unbounded, StringComparison.Ordinal);
    }

    [Fact]
    public void Tools_add_the_providers_hidden_prompt()
    {
        var shape = RequestShape.Text(100);
        shape.Tools = 2;

        Assert.Equal(100 + WorstCases.Margin + WorstCases.AnthropicToolPrompt, WorstCases.Of(shape, "claude-haiku-4-5", true, null, 1).InputTokens);
        Assert.Equal(100 + WorstCases.Margin + WorstCases.OpenAiToolPrompt + (2 * WorstCases.OpenAiPerToolFraming), WorstCases.Of(shape, "gpt-4o", false, null, 1).InputTokens);
    }

    [Fact]
    public void The_hold_is_at_the_dearest_tier_and_cache_write_the_request_can_get()
    {
        var gpt4o = PriceCatalog.Default.Entries["gpt-4o"].Price;
        var shape = RequestShape.Text(10_000);
        shape.Tier = ServiceTier.Priority;
        var priority = WorstCases.Of(shape, "gpt-4o", false, 128_000, 1_000);
        Assert.Equal(gpt4o.Priority!.Cost(new TokenUsage(10_256, 1_000)), priority.Cost(gpt4o));

        shape.Tier = ServiceTier.Flex; // flex can be no dearer than default: held at default
        Assert.Equal(gpt4o.Cost(new TokenUsage(10_256, 1_000)), WorstCases.Of(shape, "gpt-4o", false, 128_000, 1_000).Cost(gpt4o));

        var sonnet = PriceCatalog.Default.Entries["claude-sonnet-4-5"].Price;
        var cached = RequestShape.Text(10_000);
        cached.CacheWrites = CacheWriteKind.OneHour;
        var held = WorstCases.Of(cached, "claude-sonnet-4-5", true, 200_000, 0).Cost(sonnet);
        Assert.Equal(Money.FromUsd(10_256 * 6m / 1_000_000), held); // 1-hour writes at 2 × $3
    }

    [Fact]
    public void The_largest_limit_that_fits_a_budget_counts_every_choice()
    {
        var shape = RequestShape.Text(1_000);
        shape.Choices = 8;
        var budget = Money.FromUsd(0.0005m);

        var limit = WorstCases.MaxTokensWithin(shape, "gpt-4o-mini", false, 128_000, Mini, budget, long.MaxValue, 16_384);

        Assert.True(limit > 0);
        Assert.True(WorstCases.Of(shape, "gpt-4o-mini", false, 128_000, (int)limit).Cost(Mini) <= budget);
        Assert.True(WorstCases.Of(shape, "gpt-4o-mini", false, 128_000, (int)limit + 1).Cost(Mini) > budget);
    }
}

/// <summary>Routes and ensemble members hold the caller's request at its worst case on each target.</summary>
public sealed class CallShapeWorstCaseTests
{
    [Fact]
    public void A_route_target_holds_every_choice_of_the_callers_request()
    {
        var price = PriceCatalog.Default.Entries["gpt-4o-mini"].Price;
        var request = RequestShape.Text(1_000);
        request.Choices = 16;
        var route = new Purser.Ensembles.CallShape([new Purser.Ensembles.PricedTarget(price, 500, "gpt-4o-mini", false, 128_000)]);

        var plain = route.Estimate(1_256);
        var withN = route.WithRequest(request).Estimate(1_256);

        Assert.Equal(1_256 + 500, plain.Tokens);
        Assert.Equal(1_256 + (16 * 500), withN.Tokens);
        Assert.Equal(price.Cost(new TokenUsage(1_256, 16 * 500)), withN.Cost);
    }
}
