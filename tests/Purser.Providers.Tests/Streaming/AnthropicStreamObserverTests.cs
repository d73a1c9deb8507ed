using Purser.Providers.Streaming;
using Purser.Usage;

namespace Purser.Providers.Tests.Streaming;

public class AnthropicStreamObserverTests
{
    private static async Task<(AnthropicStreamObserver Observer, List<AnthropicEventKind> Kinds)> ObserveAsync(string stream, int take = int.MaxValue)
    {
        var observer = new AnthropicStreamObserver();
        var kinds = new List<AnthropicEventKind>();
        foreach (var ev in (await SseTestKit.ReadAllAsync(stream, seed: 11)).Take(take))
        {
            kinds.Add(observer.Observe(Samples.Utf8(ev.EventName), Samples.Utf8(ev.Data)));
        }

        return (observer, kinds);
    }

    [Fact]
    public async Task Text_stream_reports_whole_prompt_with_cache_and_output_from_message_delta()
    {
        var (observer, kinds) = await ObserveAsync(Samples.AnthropicTextStream());

        Assert.Equal(
            [AnthropicEventKind.MessageStart, AnthropicEventKind.ContentBlockStart, AnthropicEventKind.Ping, AnthropicEventKind.Delta, AnthropicEventKind.Delta,
             AnthropicEventKind.ContentBlockStop, AnthropicEventKind.MessageDelta, AnthropicEventKind.MessageStop],
            kinds);
        Assert.Equal(new TokenUsage(InputTokens: 2125, OutputTokens: 15, CachedInputTokens: 2000, CacheWriteTokens: 100), observer.ReportedUsage);
        Assert.Equal(2125, observer.ReportedInputTokens);
        Assert.Equal(2, observer.ContentChunks);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(Samples.AnthropicTextStreamText), observer.ContentBytes);
        Assert.Equal("end_turn", observer.StopReason);
        Assert.True(observer.SawMessageStop);
    }

    [Fact]
    public async Task Tool_stream_counts_thinking_text_tool_names_and_input_json()
    {
        var (observer, _) = await ObserveAsync(Samples.AnthropicToolStream);

        var expected = "The user wants the weather.".Length + "Okay, let's check.".Length + "get_weather".Length
            + "{\"location\": \"San Francisco, CA\", \"unit\": \"fahrenheit\"}".Length + "get_time".Length + "{\"tz\": \"PST\"}".Length;
        Assert.Equal(expected, observer.ContentBytes);
        Assert.Equal(8, observer.ContentChunks);
        Assert.Equal("tool_use", observer.StopReason);
        Assert.Equal(new TokenUsage(472, 89), observer.ReportedUsage);
    }

    [Fact]
    public async Task Stream_cut_before_message_delta_knows_input_but_not_usage_and_counts_output()
    {
        var (observer, _) = await ObserveAsync(Samples.AnthropicTextStream(), take: 5);

        Assert.Null(observer.ReportedUsage);
        Assert.Equal(2125, observer.ReportedInputTokens);
        Assert.False(observer.SawMessageStop);
        Assert.Null(observer.StopReason);
        Assert.True(observer.CountedOutputTokens > 0);
        Assert.Equal((observer.ContentBytes + 3) / 4, observer.CountedOutputTokens);
    }

    [Fact]
    public void Message_delta_with_cumulative_input_counts_replaces_message_start_counts()
    {
        var observer = new AnthropicStreamObserver();
        observer.Observe("message_start"u8, """{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}"""u8);
        observer.Observe("message_delta"u8, """{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":7}}"""u8);

        Assert.Equal(new TokenUsage(15, 7, 5), observer.ReportedUsage);
        Assert.Equal("max_tokens", observer.StopReason);
    }

    [Fact]
    public void Error_malformed_and_unknown_events_are_classified()
    {
        var observer = new AnthropicStreamObserver();

        Assert.Equal(AnthropicEventKind.Error, observer.Observe("error"u8, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""u8));
        Assert.Equal(AnthropicEventKind.Malformed, observer.Observe("content_block_delta"u8, """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"cut"""u8));
        Assert.Equal(AnthropicEventKind.Other, observer.Observe("future_event"u8, """{"type":"future_event"}"""u8));
        Assert.Equal(AnthropicEventKind.Ping, observer.Observe("ping"u8, "{}"u8));
        Assert.Equal(0, observer.ContentBytes);
    }
}
