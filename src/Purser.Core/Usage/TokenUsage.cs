namespace Purser.Usage;

/// <summary>
/// Token counts of one upstream call, normalised across providers. <see cref="InputTokens"/> is the whole prompt,
/// cached and cache-written tokens included (OpenAI's prompt_tokens; Anthropic's input_tokens +
/// cache_read_input_tokens + cache_creation_input_tokens), so that cost is computed one way for both.
/// <para>
/// <see cref="CacheWrite1hTokens"/> is the part of <see cref="CacheWriteTokens"/> written with a one-hour lifetime
/// (Anthropic's <c>cache_creation.ephemeral_1h_input_tokens</c>, billed at twice the input rate); the rest are
/// five-minute writes. <see cref="ReasoningTokens"/> is the part of <see cref="OutputTokens"/> spent on hidden
/// reasoning (already billed as output, recorded so a cut stream can be judged). <see cref="WebSearchRequests"/> are
/// server-side tool uses billed per use; <see cref="Tier"/> is the service tier the provider says it served.
/// </para>
/// </summary>
public readonly record struct TokenUsage(
    long InputTokens,
    long OutputTokens,
    long CachedInputTokens = 0,
    long CacheWriteTokens = 0,
    long CacheWrite1hTokens = 0,
    long ReasoningTokens = 0,
    long WebSearchRequests = 0,
    ServiceTier Tier = ServiceTier.Default)
{
    public long TotalTokens => InputTokens + OutputTokens;

    /// <summary>Sums counts; the tier of a sum is the dearer one (a sum of calls is priced call by call anyway).</summary>
    public static TokenUsage operator +(TokenUsage a, TokenUsage b) => new(
        a.InputTokens + b.InputTokens,
        a.OutputTokens + b.OutputTokens,
        a.CachedInputTokens + b.CachedInputTokens,
        a.CacheWriteTokens + b.CacheWriteTokens,
        a.CacheWrite1hTokens + b.CacheWrite1hTokens,
        a.ReasoningTokens + b.ReasoningTokens,
        a.WebSearchRequests + b.WebSearchRequests,
        ServiceTiers.Dearer(a.Tier, b.Tier));

    public TokenUsage Add(TokenUsage other) => this + other;
}
