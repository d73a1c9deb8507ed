using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Providers.Tests.Streaming;

public class OpenAiStreamObserverTests
{
    private static (OpenAiStreamObserver Observer, List<OpenAiChunkKind> Kinds) Observe(IEnumerable<string> events)
    {
        var observer = new OpenAiStreamObserver();
        var kinds = new List<OpenAiChunkKind>();
        foreach (var data in events)
        {
            kinds.Add(observer.Observe(Samples.Utf8(data)));
        }

        return (observer, kinds);
    }

    [Fact]
    public void Text_stream_with_include_usage_reports_usage_counts_and_finish()
    {
        var (observer, kinds) = Observe(Samples.OpenAiTextStream());

        Assert.Equal(
            [OpenAiChunkKind.Content, OpenAiChunkKind.Content, OpenAiChunkKind.Content, OpenAiChunkKind.Content, OpenAiChunkKind.Content, OpenAiChunkKind.UsageOnly, OpenAiChunkKind.Done],
            kinds);
        Assert.Equal(new TokenUsage(1200, 9, 1024), observer.ReportedUsage);
        Assert.Equal(3, observer.ContentChunks);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(Samples.OpenAiTextStreamText), observer.ContentBytes);
        Assert.Equal("stop", observer.FinishReason);
        Assert.True(observer.SawDone);
    }

    [Fact]
    public void Tool_call_stream_counts_names_and_arguments()
    {
        var (observer, _) = Observe(Samples.OpenAiToolStream());

        Assert.Equal("tool_calls", observer.FinishReason);
        var expectedBytes = "get_weather".Length + "{\"location\":\"Paris, France\"}".Length + "get_time".Length + "{\"tz\":\"CET\"}".Length;
        Assert.Equal(expectedBytes, observer.ContentBytes);
        Assert.Equal(7, observer.ContentChunks);
        Assert.Equal((expectedBytes + 3) / 4, observer.CountedOutputTokens);
    }

    [Fact]
    public void Stream_cut_before_usage_has_no_reported_usage_but_a_positive_count()
    {
        var (observer, _) = Observe(Samples.OpenAiTextStream()[..4]);

        Assert.Null(observer.ReportedUsage);
        Assert.Null(observer.FinishReason);
        Assert.False(observer.SawDone);
        Assert.True(observer.CountedOutputTokens > 0);
        Assert.Equal(Math.Max(3, (observer.ContentBytes + 3) / 4), observer.CountedOutputTokens);
    }

    [Fact]
    public void Counted_tokens_never_fall_below_the_chunk_count()
    {
        var chunks = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            chunks.Add(Samples.OpenAiChunk("""{"content":"a"}"""));
        }

        var (observer, _) = Observe(chunks);

        Assert.Equal(50, observer.ContentChunks);
        Assert.Equal(50, observer.CountedOutputTokens);
    }

    [Fact]
    public void Error_and_malformed_events_are_classified_and_not_counted()
    {
        var (observer, kinds) = Observe(
        [
            """{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}""",
            "{\"choices\":[{\"delta\":{\"content\":\"cut mid-js",
            "not json",
            "",
        ]);

        Assert.Equal([OpenAiChunkKind.Error, OpenAiChunkKind.Malformed, OpenAiChunkKind.Malformed, OpenAiChunkKind.Malformed], kinds);
        Assert.Equal(0, observer.ContentChunks);
        Assert.Equal(0, observer.ContentBytes);
        Assert.Null(observer.ReportedUsage);
    }

    [Fact]
    public void Escaped_text_is_counted_in_decoded_utf8_bytes()
    {
        // "\u00e9" is two UTF-8 bytes, "\ud83d\ude00" (one emoji) four, "\n" and "\"" one each.
        var (observer, _) = Observe([Samples.OpenAiChunk("""{"content":"\u00e9\ud83d\ude00\n\""}""")]);

        Assert.Equal(8, observer.ContentBytes);
    }

    [Fact]
    public void Refusal_and_reasoning_text_count_as_output()
    {
        var (observer, _) = Observe(
        [
            Samples.OpenAiChunk("""{"reasoning_content":"think"}"""),
            Samples.OpenAiChunk("""{"content":null,"refusal":"No."}"""),
        ]);

        Assert.Equal(2, observer.ContentChunks);
        Assert.Equal(8, observer.ContentBytes);
    }

    [Fact]
    public void Usage_on_a_chunk_with_choices_is_still_reported()
    {
        var chunk = """{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}""";

        var (observer, kinds) = Observe([chunk]);

        Assert.Equal(OpenAiChunkKind.Content, Assert.Single(kinds));
        Assert.Equal(new TokenUsage(10, 20), observer.ReportedUsage);
        Assert.Equal("length", observer.FinishReason);
    }
}
