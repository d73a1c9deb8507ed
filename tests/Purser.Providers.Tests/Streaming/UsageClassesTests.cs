using Purser.Providers.Streaming;
using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Providers.Tests.Streaming;

/// <summary>The usage classes priced apart (issue 13): reasoning, 1-hour cache writes, web searches, the served tier.</summary>
public class UsageClassesTests
{
    [Fact]
    public void OpenAi_reasoning_tokens_and_the_served_tier_are_read()
    {
        var body = """
            {"id":"c","object":"chat.completion","choices":[],
             "usage":{"prompt_tokens":100,"completion_tokens":900,"completion_tokens_details":{"reasoning_tokens":800}},
             "service_tier":"priority","system_fingerprint":"fp"}
            """u8;

        Assert.True(UsageReader.TryReadOpenAi(body, out var usage));
        Assert.Equal(new TokenUsage(100, 900, ReasoningTokens: 800, Tier: ServiceTier.Priority), usage);
    }

    [Fact]
    public void OpenAi_stream_usage_chunk_carries_the_tier_named_in_the_chunk()
    {
        var chunk = new OpenAiChunk();

        Assert.True(chunk.TryParse("""{"id":"c","choices":[],"service_tier":"flex","usage":{"prompt_tokens":5,"completion_tokens":7,"completion_tokens_details":{"reasoning_tokens":3}}}"""u8));

        Assert.Equal(new TokenUsage(5, 7, ReasoningTokens: 3, Tier: ServiceTier.Flex), chunk.Usage);
    }

    [Fact]
    public void Anthropic_one_hour_cache_writes_and_web_searches_are_read()
    {
        var body = """
            {"id":"msg","type":"message","content":[],
             "usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":50,
                      "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200},
                      "output_tokens":40,"server_tool_use":{"web_search_requests":2},"service_tier":"standard"}}
            """u8;

        Assert.True(UsageReader.TryReadAnthropic(body, out var usage));
        Assert.Equal(new TokenUsage(360, 40, 50, 300, CacheWrite1hTokens: 200, WebSearchRequests: 2), usage);
    }

    [Fact]
    public void An_anthropic_stream_reports_its_cache_classes_and_searches()
    {
        var observer = new AnthropicStreamObserver();
        observer.Observe("message_start"u8, """{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"cache_creation_input_tokens":30,"cache_creation":{"ephemeral_1h_input_tokens":30},"output_tokens":1}}}"""u8);

        Assert.Equal(new TokenUsage(40, 0, 0, 30, CacheWrite1hTokens: 30), observer.ReportedInput);

        observer.Observe("message_delta"u8, """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12,"server_tool_use":{"web_search_requests":1}}}"""u8);

        Assert.Equal(new TokenUsage(40, 12, 0, 30, CacheWrite1hTokens: 30, WebSearchRequests: 1), observer.ReportedUsage);
    }
}
