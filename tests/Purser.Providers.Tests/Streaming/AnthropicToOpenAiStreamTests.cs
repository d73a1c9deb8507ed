using System.Buffers;
using System.Text;
using System.Text.Json;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

public class AnthropicToOpenAiStreamTests
{
    private static async Task<(AnthropicToOpenAiStream Translator, List<OutputFrame> Frames)> TranslateAsync(
        string upstream, bool includeUsage, int take = int.MaxValue, int completeCalls = 1)
    {
        var translator = new AnthropicToOpenAiStream("chatcmpl-purser-1", "claude-sonnet", 1730000000, includeUsage);
        var output = new ArrayBufferWriter<byte>();
        await using (var reader = new SseReader(new ChunkedStream(Encoding.UTF8.GetBytes(upstream), seed: 3)))
        {
            for (var i = 0; i < take && await reader.ReadAsync(CancellationToken.None); i++)
            {
                translator.Translate(reader.Current, output);
            }
        }

        for (var i = 0; i < completeCalls; i++)
        {
            translator.Complete(output);
        }

        return (translator, SseTestKit.ParseOutput(output));
    }

    private static JsonElement Delta(OutputFrame frame) => frame.Json.GetProperty("choices")[0].GetProperty("delta");

    private static string? Finish(OutputFrame frame) => frame.Json.GetProperty("choices")[0].GetProperty("finish_reason").GetString();

    [Fact]
    public async Task Text_stream_becomes_role_content_finish_usage_and_one_done()
    {
        var (translator, frames) = await TranslateAsync(Samples.AnthropicTextStream(), includeUsage: true, completeCalls: 2);

        Assert.All(frames, f => Assert.Null(f.EventName));
        Assert.Equal("[DONE]", frames[^1].Data);
        Assert.Single(frames, f => f.Data == "[DONE]");
        var chunks = frames[..^1];
        Assert.Equal(5, chunks.Count);
        foreach (var chunk in chunks)
        {
            var json = chunk.Json;
            Assert.Equal("chatcmpl-purser-1", json.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", json.GetProperty("object").GetString());
            Assert.Equal(1730000000, json.GetProperty("created").GetInt64());
            Assert.Equal("claude-sonnet", json.GetProperty("model").GetString());
        }

        Assert.Equal("assistant", Delta(chunks[0]).GetProperty("role").GetString());
        Assert.Equal("", Delta(chunks[0]).GetProperty("content").GetString());
        Assert.Equal(Samples.AnthropicTextStreamText, Delta(chunks[1]).GetProperty("content").GetString() + Delta(chunks[2]).GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, chunks[1].Json.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, chunks[1].Json.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.Empty(Delta(chunks[3]).EnumerateObject());
        Assert.Equal("stop", Finish(chunks[3]));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(JsonValueKind.Null, chunks[i].Json.GetProperty("usage").ValueKind);
        }

        var usageChunk = chunks[4].Json;
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.GetProperty("usage");
        Assert.Equal(2125, usage.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(15, usage.GetProperty("completion_tokens").GetInt64());
        Assert.Equal(2140, usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal(2000, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.Equal(new Purser.Usage.TokenUsage(2125, 15, 2000, 100), translator.Observer.ReportedUsage);
    }

    [Fact]
    public async Task Without_include_usage_there_is_no_usage_chunk_and_no_usage_property()
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicTextStream(), includeUsage: false);

        Assert.Equal(5, frames.Count);
        Assert.All(frames[..^1], f => Assert.False(f.Json.TryGetProperty("usage", out _)));
        Assert.Equal("[DONE]", frames[^1].Data);
    }

    [Fact]
    public async Task Tool_use_blocks_become_indexed_tool_calls_whose_arguments_reassemble_to_json()
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicToolStream, includeUsage: true);

        var chunks = frames[..^1];
        var text = new StringBuilder();
        var arguments = new Dictionary<int, StringBuilder>();
        var starts = new List<(int Index, string Id, string Name)>();
        foreach (var chunk in chunks)
        {
            var choices = chunk.Json.GetProperty("choices");
            if (choices.GetArrayLength() == 0)
            {
                continue;
            }

            var delta = choices[0].GetProperty("delta");
            Assert.False(delta.TryGetProperty("reasoning_content", out _));
            if (delta.TryGetProperty("content", out var content))
            {
                text.Append(content.GetString());
            }

            if (delta.TryGetProperty("tool_calls", out var calls))
            {
                var call = Assert.Single(calls.EnumerateArray().ToList());
                var index = call.GetProperty("index").GetInt32();
                if (call.TryGetProperty("id", out var id))
                {
                    Assert.Equal("function", call.GetProperty("type").GetString());
                    starts.Add((index, id.GetString()!, call.GetProperty("function").GetProperty("name").GetString()!));
                    arguments[index] = new StringBuilder();
                }

                arguments[index].Append(call.GetProperty("function").GetProperty("arguments").GetString());
            }
        }

        Assert.Equal("Okay, let's check.", text.ToString());
        Assert.Equal([(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"), (1, "toolu_02", "get_time")], starts);
        var weather = JsonDocument.Parse(arguments[0].ToString()).RootElement;
        Assert.Equal("San Francisco, CA", weather.GetProperty("location").GetString());
        Assert.Equal("fahrenheit", weather.GetProperty("unit").GetString());
        Assert.Equal("PST", JsonDocument.Parse(arguments[1].ToString()).RootElement.GetProperty("tz").GetString());
        Assert.Equal("tool_calls", Finish(chunks[^2]));
        Assert.Equal(89, chunks[^1].Json.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.DoesNotContain(chunks, c => c.Data.Contains("The user wants", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("max_tokens", "length")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    public async Task Stop_reasons_map_to_openai_finish_reasons(string stopReason, string finishReason)
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicTextStream(stopReason), includeUsage: false);

        Assert.Equal(finishReason, Finish(frames[3]));
    }

    [Fact]
    public async Task Cut_stream_still_ends_with_one_done_and_no_made_up_usage()
    {
        var (translator, frames) = await TranslateAsync(Samples.AnthropicTextStream(), includeUsage: true, take: 5, completeCalls: 3);

        Assert.Equal(4, frames.Count);
        Assert.Equal("[DONE]", frames[^1].Data);
        Assert.All(frames[..^1], f => Assert.Equal(JsonValueKind.Null, f.Json.GetProperty("usage").ValueKind));
        Assert.Null(translator.Observer.ReportedUsage);
        Assert.True(translator.Observer.CountedOutputTokens > 0);
    }

    [Fact]
    public async Task Usage_reported_without_message_stop_is_written_before_done()
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicTextStream(), includeUsage: true, take: 7);

        Assert.Equal(15, frames[^2].Json.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.Equal("[DONE]", frames[^1].Data);
    }

    [Fact]
    public void Error_event_becomes_an_openai_error_frame()
    {
        var translator = new AnthropicToOpenAiStream("id", "m", 1, includeUsage: false);
        var output = new ArrayBufferWriter<byte>();

        translator.Translate(SseTestKit.Event("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded \"now\""}}"""), output);
        translator.Complete(output);

        var frames = SseTestKit.ParseOutput(output);
        var error = frames[0].Json.GetProperty("error");
        Assert.Equal("Overloaded \"now\"", error.GetProperty("message").GetString());
        Assert.Equal("overloaded_error", error.GetProperty("type").GetString());
        Assert.Equal("[DONE]", frames[1].Data);
        Assert.Equal(AnthropicEventKind.Error, translator.Observer.Observe("ping"u8, "{\"type\":\"error\"}"u8));
    }
}
