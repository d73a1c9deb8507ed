using Purser.Providers.Usage;
using Purser.Usage;

namespace Purser.Providers.Tests.Streaming;

public class UsageReaderTests
{
    [Fact]
    public void OpenAi_chat_completion_usage_includes_cached_tokens_in_the_prompt()
    {
        var body = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o",
             "choices":[{"index":0,"message":{"role":"assistant","content":"usage is fun","usage":{"prompt_tokens":999}},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
                      "prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":0},
                      "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},
             "system_fingerprint":"fp_1"}
            """u8;

        Assert.True(UsageReader.TryReadOpenAi(body, out var usage));
        Assert.Equal(new TokenUsage(2006, 300, 1920), usage);
    }

    [Fact]
    public void OpenAi_embeddings_usage_has_prompt_tokens_only()
    {
        var body = """{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,-0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"""u8;

        Assert.True(UsageReader.TryReadOpenAi(body, out var usage));
        Assert.Equal(new TokenUsage(8, 0), usage);
    }

    [Fact]
    public void Anthropic_message_usage_adds_cache_reads_and_writes_to_the_prompt()
    {
        var body = """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":3000,"output_tokens":12,"service_tier":"standard"}}
            """u8;

        Assert.True(UsageReader.TryReadAnthropic(body, out var usage));
        Assert.Equal(new TokenUsage(4050, 12, 3000, 1000), usage);
    }

    [Theory]
    [InlineData("{\"id\":\"x\"}")]
    [InlineData("{\"usage\":null}")]
    [InlineData("{\"usage\":{\"prompt_tokens\":")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public void Bodies_without_readable_usage_are_rejected(string body)
    {
        Assert.False(UsageReader.TryReadOpenAi(Samples.Utf8(body), out var openAi));
        Assert.False(UsageReader.TryReadAnthropic(Samples.Utf8(body), out var anthropic));
        Assert.Equal(default, openAi);
        Assert.Equal(default, anthropic);
    }
}
