using Purser.Usage;

namespace Purser.Pricing;

/// <summary>
/// Prices of one model in nano-USD per million tokens. A price of $2.50 per million input tokens is
/// <c>InputPerMillion = 2_500_000_000</c>. Cached input and cache writes default to the input price when absent.
/// <para>
/// The dimensions beyond the four base rates, each priced from what the provider reports for the call:
/// one-hour cache writes (<see cref="CacheWrite1hPerMillion"/>; Anthropic bills them at 2× input), a long-context tier
/// (<see cref="LongContext"/>: every token of a call whose input exceeds the threshold at other rates), service
/// tiers (<see cref="Priority"/>, <see cref="Flex"/>, <see cref="Batch"/>) and per-use server tool fees
/// (<see cref="WebSearchPerUse"/>).
/// </para>
/// </summary>
public sealed record ModelPrice(long InputPerMillion, long OutputPerMillion, long? CachedInputPerMillion = null, long? CacheWritePerMillion = null)
{
    /// <summary>A model that the operator marked free on purpose.</summary>
    public static readonly ModelPrice Free = new(0, 0, 0, 0);

    /// <summary>One-hour cache writes; absent means the dearer of 2× input and the five-minute write rate.</summary>
    public long? CacheWrite1hPerMillion { get; init; }

    /// <summary>Rates for a call whose input exceeds a threshold (e.g. Claude Sonnet above 200K input tokens).</summary>
    public LongContextTier? LongContext { get; init; }

    /// <summary>Rates when served at <c>service_tier: priority</c>; absent means twice these rates (above every published priority rate).</summary>
    public ModelPrice? Priority { get; init; }

    /// <summary>Rates when served at <c>service_tier: flex</c>; absent means these rates.</summary>
    public ModelPrice? Flex { get; init; }

    /// <summary>Rates of the batch tier; absent means these rates.</summary>
    public ModelPrice? Batch { get; init; }

    /// <summary>The fee per server-side web search (Anthropic: $10 per 1,000).</summary>
    public Money WebSearchPerUse { get; init; }

    /// <summary>The rates that apply to a call served at <paramref name="tier"/> with <paramref name="inputTokens"/> of input.</summary>
    public ModelPrice RatesFor(ServiceTier tier, long inputTokens)
    {
        var rates = tier switch
        {
            ServiceTier.Priority => Priority ?? Scaled(2),
            ServiceTier.Flex => Flex ?? this,
            ServiceTier.Batch => Batch ?? this,
            _ => this,
        };

        return rates.LongContext is { } tier2 && inputTokens > tier2.ThresholdTokens ? tier2.Rates : rates;
    }

    /// <summary>Exact cost of a call, rounded up to the next nano-dollar.</summary>
    public Money Cost(TokenUsage usage)
    {
        var rates = RatesFor(usage.Tier, usage.InputTokens);
        var cached = Math.Clamp(usage.CachedInputTokens, 0, Math.Max(0, usage.InputTokens));
        var written = Math.Clamp(usage.CacheWriteTokens, 0, Math.Max(0, usage.InputTokens - cached));
        var written1h = Math.Clamp(usage.CacheWrite1hTokens, 0, written);
        var plainInput = Math.Max(0, usage.InputTokens - cached - written);
        var write5m = rates.CacheWritePerMillion ?? rates.InputPerMillion;
        var write1h = rates.CacheWrite1hPerMillion ?? Math.Max(write5m, 2 * rates.InputPerMillion);

        Int128 perMillion = (Int128)plainInput * rates.InputPerMillion
            + (Int128)cached * (rates.CachedInputPerMillion ?? rates.InputPerMillion)
            + (Int128)(written - written1h) * write5m
            + (Int128)written1h * write1h
            + (Int128)Math.Max(0, usage.OutputTokens) * rates.OutputPerMillion;

        var nano = (perMillion + 999_999) / 1_000_000;
        nano += (Int128)Math.Max(0, usage.WebSearchRequests) * WebSearchPerUse.NanoUsd;
        return new Money(checked((long)nano));
    }

    /// <summary>
    /// The largest output token count whose worst case, with <paramref name="inputTokens"/> of uncached input, costs at
    /// most <paramref name="budget"/>; -1 when even the input alone does not fit. Used to lower max_tokens so that a
    /// request fits what is left instead of being refused.
    /// </summary>
    public long MaxOutputTokensWithin(Money budget, long inputTokens, long ceiling)
    {
        if (Cost(new TokenUsage(inputTokens, 0)) > budget)
        {
            return -1;
        }

        var rates = RatesFor(ServiceTier.Default, inputTokens);
        if (rates.OutputPerMillion == 0)
        {
            return ceiling;
        }

        // Cost rounds up, so start from the exact quotient and step down until the rounded cost fits.
        var spare = ((Int128)budget.NanoUsd * 1_000_000) - ((Int128)inputTokens * rates.InputPerMillion);
        var guess = (long)Int128.Max(0, Int128.Min(spare / rates.OutputPerMillion, ceiling));
        while (guess > 0 && Cost(new TokenUsage(inputTokens, guess)) > budget)
        {
            guess--;
        }

        return Math.Max(0, guess);
    }

    private ModelPrice Scaled(int factor) => new(
        InputPerMillion * factor,
        OutputPerMillion * factor,
        CachedInputPerMillion * factor,
        CacheWritePerMillion * factor)
    {
        CacheWrite1hPerMillion = CacheWrite1hPerMillion * factor,
        LongContext = LongContext is { } tier ? tier with { Rates = tier.Rates.Scaled(factor) } : null,
        WebSearchPerUse = WebSearchPerUse,
    };
}

/// <summary>Rates that apply to every token of a call whose input exceeds <see cref="ThresholdTokens"/>.</summary>
public sealed record LongContextTier(long ThresholdTokens, ModelPrice Rates);
