namespace Purser.Providers.Usage;

/// <summary>The counts an Anthropic usage object carried; message_delta usage may carry only some of them.</summary>
internal struct AnthropicUsageFields
{
    public long? InputTokens;
    public long? OutputTokens;
    public long? CacheReadTokens;
    public long? CacheCreationTokens;

    public readonly bool Any => InputTokens is not null || OutputTokens is not null
        || CacheReadTokens is not null || CacheCreationTokens is not null;
}
