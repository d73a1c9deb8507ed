using Purser.Usage;

namespace Purser.Pricing;

/// <summary>
/// A proven upper bound of what a provider can bill for one request as sent: at most <see cref="InputTokens"/> of
/// input (all of it possibly cache writes when the request asks for them), <see cref="OutputTokens"/> of output (every
/// choice at its limit, reasoning included, since providers count reasoning within the output limit),
/// <see cref="ToolUses"/> per-use tool fees, at the dearest <see cref="Tier"/> the request can be served at.
/// <see cref="Unbounded"/> names why no bound exists; the token counts are then only the part that is bounded.
/// </summary>
public readonly record struct WorstCase(long InputTokens, long OutputTokens, long ToolUses, ServiceTier Tier, CacheWriteKind CacheWrites, string? Unbounded)
{
    public bool IsBounded => Unbounded is null;

    public long Tokens => InputTokens + OutputTokens;

    /// <summary>The usage this bound stands for: every input token at the dearest input rate the request can incur.</summary>
    public TokenUsage Usage => new(
        InputTokens,
        OutputTokens,
        CacheWriteTokens: CacheWrites == CacheWriteKind.None ? 0 : InputTokens,
        CacheWrite1hTokens: CacheWrites == CacheWriteKind.OneHour ? InputTokens : 0,
        WebSearchRequests: ToolUses,
        Tier: Tier);

    public Money Cost(ModelPrice price)
    {
        ArgumentNullException.ThrowIfNull(price);

        // A cache write is dearer than plain input at Anthropic's rates; were a price to make it cheaper, plain input
        // is the worst case, so the dearer of the two is held.
        var usage = Usage;
        return CacheWrites == CacheWriteKind.None ? price.Cost(usage) : Money.Max(price.Cost(usage), price.Cost(usage with { CacheWriteTokens = 0, CacheWrite1hTokens = 0 }));
    }
}
