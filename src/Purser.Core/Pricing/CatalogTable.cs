namespace Purser.Pricing;

/// <summary>
/// The rows of <see cref="PriceCatalog.Default"/>: USD per million tokens, output ceiling, context window, and whether
/// the model reasons. Each block names its source and the date it was read; rows marked UNSURE could not be checked
/// against the provider's own page when they were added, and operators should confirm them (a <c>prices:</c> entry in
/// the configuration overrides any row).
/// <para>
/// A dated snapshot that is priced differently from its alias is listed under its own name (an exact name wins over
/// the snapshot rule of <see cref="PriceCatalog.TryGet"/>), e.g. <c>gpt-4o-2024-05-13</c> at $5/$15.
/// </para>
/// </summary>
internal static class CatalogTable
{
    private static readonly Money AnthropicWebSearch = Money.FromUsd(0.01m); // $10 per 1,000 searches

    public static Dictionary<string, CatalogEntry> Rows()
    {
        var rows = new Dictionary<string, CatalogEntry>(StringComparer.Ordinal);

        // OpenAI — platform.openai.com/docs/pricing (standard, priority and flex tiers), read 2025-11-25.
        // Cache writes are not billed apart (absent = input rate). Priority rates are listed where published;
        // a model without one is priced at twice its standard rate when served at priority (ModelPrice.Priority).
        Add(rows, "gpt-5.1", R(1.25m, 10m, 0.125m) with { Priority = R(2.50m, 20m, 0.25m), Flex = R(0.625m, 5m, 0.0625m) }, 128_000, 400_000, reasoning: true);
        Add(rows, "gpt-5", R(1.25m, 10m, 0.125m) with { Priority = R(2.50m, 20m, 0.25m), Flex = R(0.625m, 5m, 0.0625m) }, 128_000, 400_000, reasoning: true);
        Add(rows, "gpt-5-mini", R(0.25m, 2m, 0.025m) with { Priority = R(0.45m, 3.60m, 0.045m), Flex = R(0.125m, 1m, 0.0125m) }, 128_000, 400_000, reasoning: true);
        Add(rows, "gpt-5-nano", R(0.05m, 0.40m, 0.005m) with { Flex = R(0.025m, 0.20m, 0.0025m) }, 128_000, 400_000, reasoning: true);
        Add(rows, "gpt-5-pro", R(15m, 120m), 272_000, 400_000, reasoning: true);
        Add(rows, "gpt-4.1", R(2m, 8m, 0.50m) with { Priority = R(3.50m, 14m, 0.875m) }, 32_768, 1_047_576);
        Add(rows, "gpt-4.1-mini", R(0.40m, 1.60m, 0.10m) with { Priority = R(0.70m, 2.80m, 0.175m) }, 32_768, 1_047_576);
        Add(rows, "gpt-4.1-nano", R(0.10m, 0.40m, 0.025m) with { Priority = R(0.20m, 0.80m, 0.05m) }, 32_768, 1_047_576);
        Add(rows, "gpt-4o", R(2.50m, 10m, 1.25m) with { Priority = R(4.25m, 17m, 2.125m) }, 16_384, 128_000);
        Add(rows, "gpt-4o-2024-05-13", R(5m, 15m), 4_096, 128_000);
        Add(rows, "gpt-4o-mini", R(0.15m, 0.60m, 0.075m) with { Priority = R(0.25m, 1m, 0.125m) }, 16_384, 128_000);
        Add(rows, "o1", R(15m, 60m, 7.50m), 100_000, 200_000, reasoning: true);
        Add(rows, "o1-mini", R(1.10m, 4.40m, 0.55m), 65_536, 128_000, reasoning: true);
        Add(rows, "o1-pro", R(150m, 600m), 100_000, 200_000, reasoning: true);
        Add(rows, "o3", R(2m, 8m, 0.50m) with { Priority = R(3.50m, 14m, 0.875m), Flex = R(1m, 4m, 0.25m) }, 100_000, 200_000, reasoning: true);
        Add(rows, "o3-mini", R(1.10m, 4.40m, 0.55m), 100_000, 200_000, reasoning: true);
        Add(rows, "o3-pro", R(20m, 80m), 100_000, 200_000, reasoning: true);
        Add(rows, "o4-mini", R(1.10m, 4.40m, 0.275m) with { Priority = R(2m, 8m, 0.50m), Flex = R(0.55m, 2.20m, 0.138m) }, 100_000, 200_000, reasoning: true);
        Add(rows, "text-embedding-3-small", R(0.02m, 0m), 0, 8_191);
        Add(rows, "text-embedding-3-large", R(0.13m, 0m), 0, 8_191);
        Add(rows, "text-embedding-ada-002", R(0.10m, 0m), 0, 8_191);

        // Anthropic — claude.com/pricing and docs.claude.com (pricing, context windows, web search tool), read
        // 2025-11-25. Cache writes: 5-minute 1.25× input, 1-hour 2× input; web search $10 per 1,000 searches.
        // Sonnet 4 / 4.5 above 200K input tokens (only reachable with the 1M-context beta): input 2×, output 1.5×.
        var sonnetLong = new LongContextTier(200_000, A(6m, 22.50m));
        Add(rows, "claude-opus-4-5", A(5m, 25m), 64_000, 200_000);
        Add(rows, "claude-opus-4-1", A(15m, 75m), 32_000, 200_000);
        Add(rows, "claude-opus-4", A(15m, 75m), 32_000, 200_000);
        Add(rows, "claude-sonnet-4-5", A(3m, 15m) with { LongContext = sonnetLong }, 64_000, 200_000);
        Add(rows, "claude-sonnet-4", A(3m, 15m) with { LongContext = sonnetLong }, 64_000, 200_000);
        Add(rows, "claude-3-7-sonnet", A(3m, 15m), 64_000, 200_000);
        Add(rows, "claude-haiku-4-5", A(1m, 5m), 64_000, 200_000);
        Add(rows, "claude-3-5-haiku", A(0.80m, 4m), 8_192, 200_000);

        // Google Gemini through its OpenAI-compatible endpoint — ai.google.dev/gemini-api/docs/pricing, read
        // 2025-11-25. Pro models have a long-context tier above 200K input tokens. Thinking tokens are billed as output.
        Add(rows, "gemini-3-pro-preview", R(2m, 12m, 0.20m) with { LongContext = new LongContextTier(200_000, R(4m, 18m, 0.40m)) }, 65_536, 1_048_576, reasoning: true);
        Add(rows, "gemini-2.5-pro", R(1.25m, 10m, 0.125m) with { LongContext = new LongContextTier(200_000, R(2.50m, 15m, 0.25m)) }, 65_536, 1_048_576, reasoning: true);
        Add(rows, "gemini-2.5-flash", R(0.30m, 2.50m, 0.03m), 65_536, 1_048_576, reasoning: true);
        Add(rows, "gemini-2.5-flash-lite", R(0.10m, 0.40m, 0.01m), 65_536, 1_048_576, reasoning: true);
        Add(rows, "gemini-2.0-flash", R(0.10m, 0.40m, 0.025m), 8_192, 1_048_576);

        // Mistral (api.mistral.ai/v1, OpenAI-compatible) — mistral.ai/pricing, read 2025-11-25. UNSURE: the page
        // could not be fetched from here; these rows are from third-party copies of it and should be confirmed.
        // "-latest" names resolve to these rows (PriceCatalog.TryGet), and Mistral moves "-latest" between releases.
        Add(rows, "mistral-large", R(2m, 6m), 4_096, 131_072);
        Add(rows, "mistral-medium", R(0.40m, 2m), 4_096, 131_072);
        Add(rows, "mistral-small", R(0.10m, 0.30m), 4_096, 131_072);
        Add(rows, "codestral", R(0.30m, 0.90m), 4_096, 256_000);

        // DeepSeek (api.deepseek.com, OpenAI-compatible) — api-docs.deepseek.com/quick_start/pricing, read 2025-11-25
        // (V3.2 prices: cache miss $0.28, cache hit $0.028, output $0.42). deepseek-reasoner thinks within its output.
        Add(rows, "deepseek-chat", R(0.28m, 0.42m, 0.028m), 8_192, 131_072);
        Add(rows, "deepseek-reasoner", R(0.28m, 0.42m, 0.028m), 65_536, 131_072, reasoning: true);

        // Purser's simulated provider (the quickstart and the tests).
        Add(rows, "sim-chat", R(0.50m, 1.50m, 0.25m), 4_096, 200_000);
        Add(rows, "sim-reasoner", R(1m, 4m, 0.25m), 8_192, 200_000, reasoning: true);
        Add(rows, "sim-embed", R(0.02m, 0m), 0, 8_191);
        Add(rows, "claude-sim", A(1m, 5m) with { LongContext = new LongContextTier(200_000, A(2m, 7.50m)) }, 4_096, 1_000_000);
        return rows;
    }

    private static void Add(Dictionary<string, CatalogEntry> rows, string model, ModelPrice price, int maxOutput, long contextWindow, bool reasoning = false) =>
        rows.Add(model, new CatalogEntry(price, maxOutput, contextWindow, reasoning));

    /// <summary>Rates in USD per million tokens (OpenAI-style: no separate cache-write rate).</summary>
    private static ModelPrice R(decimal input, decimal output, decimal? cached = null) =>
        new(Nano(input), Nano(output), cached is { } c ? Nano(c) : null, null);

    /// <summary>Anthropic rates: cache read 0.1×, 5-minute write 1.25×, 1-hour write 2× input, web search $10/1,000.</summary>
    private static ModelPrice A(decimal input, decimal output) =>
        new(Nano(input), Nano(output), Nano(input / 10), Nano(input * 1.25m))
        {
            CacheWrite1hPerMillion = Nano(input * 2),
            WebSearchPerUse = AnthropicWebSearch,
        };

    private static long Nano(decimal usdPerMillion) => Money.FromUsd(usdPerMillion).NanoUsd;
}
