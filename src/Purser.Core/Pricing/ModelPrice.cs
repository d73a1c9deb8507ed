using Purser.Usage;

namespace Purser.Pricing;

/// <summary>
/// Prices of one model in nano-USD per million tokens. A price of $2.50 per million input tokens is
/// <c>InputPerMillion = 2_500_000_000</c>. Cached input and cache writes default to the input price when absent.
/// </summary>
public sealed record ModelPrice(long InputPerMillion, long OutputPerMillion, long? CachedInputPerMillion = null, long? CacheWritePerMillion = null)
{
    /// <summary>A model that the operator marked free on purpose.</summary>
    public static readonly ModelPrice Free = new(0, 0, 0, 0);

    /// <summary>Exact cost of a call, rounded up to the next nano-dollar.</summary>
    public Money Cost(TokenUsage usage)
    {
        var cached = Math.Clamp(usage.CachedInputTokens, 0, Math.Max(0, usage.InputTokens));
        var written = Math.Clamp(usage.CacheWriteTokens, 0, Math.Max(0, usage.InputTokens - cached));
        var plainInput = Math.Max(0, usage.InputTokens - cached - written);

        Int128 perMillion = (Int128)plainInput * InputPerMillion
            + (Int128)cached * (CachedInputPerMillion ?? InputPerMillion)
            + (Int128)written * (CacheWritePerMillion ?? InputPerMillion)
            + (Int128)Math.Max(0, usage.OutputTokens) * OutputPerMillion;

        var nano = (perMillion + 999_999) / 1_000_000;
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

        if (OutputPerMillion == 0)
        {
            return ceiling;
        }

        // Cost rounds up, so start from the exact quotient and step down until the rounded cost fits.
        var spare = ((Int128)budget.NanoUsd * 1_000_000) - ((Int128)inputTokens * InputPerMillion);
        var guess = (long)Int128.Min(spare / OutputPerMillion, ceiling);
        while (guess > 0 && Cost(new TokenUsage(inputTokens, guess)) > budget)
        {
            guess--;
        }

        return Math.Max(0, guess);
    }
}
