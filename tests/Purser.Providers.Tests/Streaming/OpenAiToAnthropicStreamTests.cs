using System.Buffers;
using System.Text;
using System.Text.Json;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

public class OpenAiToAnthropicStreamTests
{
    private static (OpenAiToAnthropicStream Translator, List<OutputFrame> Frames) Translate(IEnumerable<string> upstream, int completeCalls = 1)
    {
        var translator = new OpenAiToAnthropicStream("msg_purser_1", "gpt-4o-mini");
        var output = new ArrayBufferWriter<byte>();
        foreach (var data in upstream)
        {
            translator.Translate(Encoding.UTF8.GetBytes(data), output);
        }

        for (var i = 0; i < completeCalls; i++)
        {
            translator.Complete(output);
        }

        var frames = SseTestKit.ParseOutput(output);
        foreach (var frame in frames)
        {
            // Every frame's event name is the type inside its data, as Anthropic sends them.
            Assert.Equal(frame.EventName, frame.Json.GetProperty("type").GetString());
        }

        return (translator, frames);
    }

    private static string Types(List<OutputFrame> frames) => string.Join(",", frames.Select(f => f.EventName switch
    {
        "message_start" => "ms",
        "content_block_start" => "bs:" + f.Json.GetProperty("content_block").GetProperty("type").GetString() + f.Json.GetProperty("index").GetInt32(),
        "content_block_delta" => "d" + f.Json.GetProperty("index").GetInt32(),
        "content_block_stop" => "be" + f.Json.GetProperty("index").GetInt32(),
        "message_delta" => "md",
        "message_stop" => "stop",
        _ => f.EventName,
    }));

    [Fact]
    public void Text_stream_becomes_one_text_block_then_message_delta_with_reported_usage_and_one_message_stop()
    {
        var (translator, frames) = Translate(Samples.OpenAiTextStream(), completeCalls: 2);

        Assert.Equal("ms,bs:text0,d0,d0,d0,be0,md,stop", Types(frames));
        var message = frames[0].Json.GetProperty("message");
        Assert.Equal("msg_purser_1", message.GetProperty("id").GetString());
        Assert.Equal("gpt-4o-mini", message.GetProperty("model").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(0, message.GetProperty("content").GetArrayLength());
        Assert.Equal("", frames[1].Json.GetProperty("content_block").GetProperty("text").GetString());
        var text = string.Concat(frames.Where(f => f.EventName == "content_block_delta").Select(f => f.Json.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(Samples.OpenAiTextStreamText, text);
        Assert.All(frames.Where(f => f.EventName == "content_block_delta"), f => Assert.Equal("text_delta", f.Json.GetProperty("delta").GetProperty("type").GetString()));
        var messageDelta = frames[6].Json;
        Assert.Equal("end_turn", messageDelta.GetProperty("delta").GetProperty("stop_reason").GetString());
        var usage = messageDelta.GetProperty("usage");
        Assert.Equal(176, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(1024, usage.GetProperty("cache_read_input_tokens").GetInt64());
        Assert.Equal(9, usage.GetProperty("output_tokens").GetInt64());
        Assert.True(translator.Observer.SawDone);
    }

    [Fact]
    public void Tool_calls_become_tool_use_blocks_whose_input_json_reassembles()
    {
        var stream = Samples.OpenAiToolStream();
        stream[0] = Samples.OpenAiChunk("""{"role":"assistant","content":"Let me look."}""");
        stream = [stream[0], Samples.OpenAiChunk("""{"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]}"""), .. stream[1..]];

        var (_, frames) = Translate(stream);

        Assert.Equal("ms,bs:text0,d0,be0,bs:tool_use1,d1,d1,d1,be1,bs:tool_use2,d2,d2,be2,md,stop", Types(frames));
        var first = frames[4].Json.GetProperty("content_block");
        Assert.Equal("call_abc", first.GetProperty("id").GetString());
        Assert.Equal("get_weather", first.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Object, first.GetProperty("input").ValueKind);
        Assert.Equal("get_time", frames[9].Json.GetProperty("content_block").GetProperty("name").GetString());

        string Input(int index) => string.Concat(frames
            .Where(f => f.EventName == "content_block_delta" && f.Json.GetProperty("index").GetInt32() == index)
            .Select(f => f.Json.GetProperty("delta").GetProperty("partial_json").GetString()));

        Assert.Equal("Paris, France", JsonDocument.Parse(Input(1)).RootElement.GetProperty("location").GetString());
        Assert.Equal("CET", JsonDocument.Parse(Input(2)).RootElement.GetProperty("tz").GetString());
        Assert.Equal("tool_use", frames[^2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Theory]
    [InlineData("length", "max_tokens")]
    [InlineData("content_filter", "refusal")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("stop", "end_turn")]
    public void Finish_reasons_map_to_anthropic_stop_reasons(string finish, string stopReason)
    {
        var (_, frames) = Translate([Samples.OpenAiChunk("""{"content":"x"}"""), Samples.OpenAiChunk("{}", $"\"{finish}\""), "[DONE]"]);

        Assert.Equal(stopReason, frames[^2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Without_a_usage_chunk_message_delta_comes_at_done_with_the_counted_output()
    {
        var stream = Samples.OpenAiTextStream();
        var withoutUsage = stream.Where(d => !ReferenceEquals(d, Samples.OpenAiUsageChunk)).ToList();

        var (translator, frames) = Translate(withoutUsage);

        Assert.Equal("ms,bs:text0,d0,d0,d0,be0,md,stop", Types(frames));
        Assert.Equal(translator.Observer.CountedOutputTokens, frames[6].Json.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.Equal("end_turn", frames[6].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void Cut_stream_is_closed_by_complete_exactly_once()
    {
        var (translator, frames) = Translate(Samples.OpenAiToolStream()[..3], completeCalls: 3);

        Assert.Equal("ms,bs:tool_use0,d0,d0,be0,md,stop", Types(frames));
        Assert.Equal(JsonValueKind.Null, frames[5].Json.GetProperty("delta").GetProperty("stop_reason").ValueKind);
        Assert.Null(translator.Observer.ReportedUsage);
        Assert.True(frames[5].Json.GetProperty("usage").GetProperty("output_tokens").GetInt64() > 0);
    }

    [Fact]
    public void Complete_on_an_empty_stream_still_writes_a_well_formed_message()
    {
        var (_, frames) = Translate([]);

        Assert.Equal("ms,md,stop", Types(frames));
    }

    [Fact]
    public void Error_chunk_becomes_an_anthropic_error_event_and_ends_the_stream()
    {
        var (_, frames) = Translate(
        [
            Samples.OpenAiChunk("""{"content":"partial"}"""),
            """{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}""",
            Samples.OpenAiChunk("""{"content":"ignored"}"""),
        ]);

        Assert.Equal("ms,bs:text0,d0,error", Types(frames));
        var error = frames[^1].Json.GetProperty("error");
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal("The server had an error", error.GetProperty("message").GetString());
    }

    [Fact]
    public void Malformed_chunks_are_skipped()
    {
        var (_, frames) = Translate([Samples.OpenAiChunk("""{"content":"a"}"""), "{not json", Samples.OpenAiChunk("""{"content":"b"}"""), "[DONE]"]);

        Assert.Equal("ms,bs:text0,d0,d0,be0,md,stop", Types(frames));
    }
}
