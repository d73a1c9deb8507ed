namespace Purser.Providers.Usage;

/// <summary>The counts an Anthropic usage object carried; message_delta usage may carry only some of them.</summary>
internal struct AnthropicUsageFields
{
    public long? InputTokens;
    public long? OutputTokens;
    public long? CacheReadTokens;
    public long? CacheCreationTokens;

    /// <summary>cache_creation.ephemeral_1h_input_tokens: the part of the cache writes with a one-hour lifetime.</summary>
    public long? CacheWrite1hTokens;

    /// <summary>server_tool_use.web_search_requests: searches billed per use.</summary>
    public long? WebSearchRequests;

    public readonly bool Any => InputTokens is not null || OutputTokens is not null
        || CacheReadTokens is not null || CacheCreationTokens is not null || CacheWrite1hTokens is not null || WebSearchRequests is not null;
}
