namespace Purser.Usage;

/// <summary>
/// Token counts of one upstream call, normalised across providers. <see cref="InputTokens"/> is the whole prompt,
/// cached and cache-written tokens included (OpenAI's prompt_tokens; Anthropic's input_tokens +
/// cache_read_input_tokens + cache_creation_input_tokens), so that cost is computed one way for both.
/// </summary>
public readonly record struct TokenUsage(long InputTokens, long OutputTokens, long CachedInputTokens = 0, long CacheWriteTokens = 0)
{
    public long TotalTokens => InputTokens + OutputTokens;

    public static TokenUsage operator +(TokenUsage a, TokenUsage b) => new(
        a.InputTokens + b.InputTokens,
        a.OutputTokens + b.OutputTokens,
        a.CachedInputTokens + b.CachedInputTokens,
        a.CacheWriteTokens + b.CacheWriteTokens);

    public TokenUsage Add(TokenUsage other) => this + other;
}
