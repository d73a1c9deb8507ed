using System.Buffers;
using System.Text;
using System.Text.Json;
using Purser.Providers.Streaming;

namespace Purser.Providers.Tests.Streaming;

public class AnthropicToResponsesStreamTests
{
    private static async Task<(AnthropicToResponsesStream Translator, List<OutputFrame> Frames)> TranslateAsync(string upstream)
    {
        var translator = new AnthropicToResponsesStream("resp_purser-1", "claude-sonnet", 1730000000, 1024);
        var output = new ArrayBufferWriter<byte>();
        await using (var reader = new SseReader(new ChunkedStream(Encoding.UTF8.GetBytes(upstream), seed: 5)))
        {
            while (await reader.ReadAsync(CancellationToken.None))
            {
                translator.Translate(reader.Current, output);
            }
        }

        return (translator, SseTestKit.ParseOutput(output));
    }

    [Fact]
    public async Task A_text_stream_becomes_the_responses_events_in_order_with_sequence_numbers_and_usage()
    {
        var (translator, frames) = await TranslateAsync(Samples.AnthropicTextStream());

        Assert.Equal("response.created", frames[0].EventName);
        Assert.Equal("response.in_progress", frames[1].EventName);
        Assert.Equal("response.output_item.added", frames[2].EventName);
        Assert.Equal("response.content_part.added", frames[3].EventName);
        Assert.Equal("response.completed", frames[^1].EventName);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i].EventName, frames[i].Json.GetProperty("type").GetString());
            Assert.Equal(i, frames[i].Json.GetProperty("sequence_number").GetInt32());
        }

        var deltas = string.Concat(frames.Where(f => f.EventName == "response.output_text.delta").Select(f => f.Json.GetProperty("delta").GetString()));
        var done = frames.Single(f => f.EventName == "response.output_text.done").Json.GetProperty("text").GetString();
        Assert.Equal(deltas, done);
        Assert.Contains(frames, f => f.EventName == "response.output_item.done");

        var completed = frames[^1].Json.GetProperty("response");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.Equal(done, completed.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var usage = completed.GetProperty("usage");
        Assert.Equal(translator.Observer.ReportedUsage!.Value.OutputTokens, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(translator.Observer.ReportedUsage!.Value.InputTokens, usage.GetProperty("input_tokens").GetInt64());
    }

    [Fact]
    public async Task A_max_tokens_stop_makes_the_response_incomplete()
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicTextStream("max_tokens"));
        Assert.Equal("response.incomplete", frames[^1].EventName);
        Assert.Equal("max_output_tokens", frames[^1].Json.GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Tool_use_blocks_become_function_call_items_with_argument_deltas()
    {
        var (_, frames) = await TranslateAsync(Samples.AnthropicToolStream);
        var added = frames.Where(f => f.EventName == "response.output_item.added" && f.Json.GetProperty("item").GetProperty("type").GetString() == "function_call").ToList();
        Assert.Equal(2, added.Count);
        Assert.Equal("toolu_01T1x1fJ34qAmk2tNTrN7Up6", added[0].Json.GetProperty("item").GetProperty("call_id").GetString());
        Assert.Equal("get_weather", added[0].Json.GetProperty("item").GetProperty("name").GetString());

        var argsDone = frames.Where(f => f.EventName == "response.function_call_arguments.done").ToList();
        Assert.Equal(2, argsDone.Count);
        foreach (var done in argsDone)
        {
            using var args = JsonDocument.Parse(done.Json.GetProperty("arguments").GetString()!);
            Assert.Equal(JsonValueKind.Object, args.RootElement.ValueKind);
        }

        var output = frames[^1].Json.GetProperty("response").GetProperty("output");
        Assert.Equal(["message", "function_call", "function_call"], output.EnumerateArray().Select(i => i.GetProperty("type").GetString()!).ToArray());
    }
}
