using System.Text;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

public sealed class ChatStreamingTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public ChatStreamingTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    [Fact]
    public async Task Stream_with_include_usage_ends_with_usage_chunk_then_done()
    {
        var (response, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """
            {"model":"sim-chat~out=3","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}
            """));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.True(response.Headers.Contains("x-request-id"));
        Assert.Equal("[DONE]", frames[^1].Data);
        List<JsonNode> chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        // role, 3 content, finish, usage
        Assert.Equal(6, chunks.Count);
        string id = (string)chunks[0]["id"]!;
        Assert.All(chunks, c =>
        {
            Assert.Equal(id, (string)c["id"]!);
            Assert.Equal("chat.completion.chunk", (string)c["object"]!);
            Assert.Equal("fp_sim", (string)c["system_fingerprint"]!);
        });

        JsonNode roleDelta = chunks[0]["choices"]![0]!["delta"]!;
        Assert.Equal("assistant", (string)roleDelta["role"]!);
        Assert.Equal(string.Empty, (string)roleDelta["content"]!);
        Assert.True(roleDelta.AsObject().ContainsKey("refusal"));

        var text = new StringBuilder();
        foreach (JsonNode chunk in chunks.Take(5))
        {
            Assert.True(chunk.AsObject().ContainsKey("usage"));
            Assert.Null(chunk["usage"]);
            text.Append((string?)chunk["choices"]![0]!["delta"]!["content"]);
        }

        Assert.Equal("lore ipsu dolo", text.ToString());
        Assert.Null(chunks[3]["choices"]![0]!["finish_reason"]);
        Assert.Equal("stop", (string)chunks[4]["choices"]![0]!["finish_reason"]!);
        Assert.Empty(chunks[4]["choices"]![0]!["delta"]!.AsObject());

        JsonNode usageChunk = chunks[5];
        Assert.Empty(usageChunk["choices"]!.AsArray());
        Assert.Equal(3, (int)usageChunk["usage"]!["completion_tokens"]!);
        Assert.Equal(4 + 1 + 3, (int)usageChunk["usage"]!["prompt_tokens"]!);
        Assert.Equal(11, (int)usageChunk["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Stream_without_include_usage_has_no_usage_chunk_or_field()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """
            {"model":"sim-chat~out=2","stream":true,"messages":[{"role":"user","content":"hi"}]}
            """));

        Assert.Equal("[DONE]", frames[^1].Data);
        List<JsonNode> chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        Assert.Equal(4, chunks.Count);
        Assert.All(chunks, c =>
        {
            Assert.False(c.AsObject().ContainsKey("usage"));
            Assert.Single(c["choices"]!.AsArray());
        });
    }

    [Fact]
    public async Task Chunk_option_groups_tokens_and_max_tokens_finishes_with_length()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """
            {"model":"sim-chat~out=10,chunk=2","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}
            """));

        List<JsonNode> chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        string[] contents = chunks.Skip(1).SkipLast(1).Select(c => (string)c["choices"]![0]!["delta"]!["content"]!).ToArray();
        Assert.Equal(["lore ipsu ", "dolo sita ", "amet"], contents);
        Assert.Equal("length", (string)chunks[^1]["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task Stream_with_n_two_sends_chunks_for_each_choice_index()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """
            {"model":"sim-chat~out=2","n":2,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}
            """));

        List<JsonNode> chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        for (int index = 0; index < 2; index++)
        {
            var perChoice = chunks.Where(c => c["choices"]!.AsArray().Count == 1 && (int)c["choices"]![0]!["index"]! == index).ToList();
            Assert.Equal("lore ipsu", string.Concat(perChoice.Select(c => (string?)c["choices"]![0]!["delta"]!["content"])));
            Assert.Equal("stop", (string)perChoice[^1]["choices"]![0]!["finish_reason"]!);
        }

        Assert.Equal(4, (int)chunks[^1]["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Tool_call_stream_sends_name_then_argument_fragments()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """
            {"model":"sim-chat","stream":true,"messages":[{"role":"user","content":"weather?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}
            """));

        Assert.Equal("[DONE]", frames[^1].Data);
        List<JsonNode> chunks = frames.SkipLast(1).Select(f => JsonNode.Parse(f.Data)!).ToList();
        Assert.Null(chunks[0]["choices"]![0]!["delta"]!["content"]);
        JsonNode header = chunks[1]["choices"]![0]!["delta"]!["tool_calls"]![0]!;
        Assert.Equal(0, (int)header["index"]!);
        Assert.StartsWith("call_", (string)header["id"]!, StringComparison.Ordinal);
        Assert.Equal("function", (string)header["type"]!);
        Assert.Equal("get_weather", (string)header["function"]!["name"]!);
        Assert.Equal(string.Empty, (string)header["function"]!["arguments"]!);

        var arguments = new StringBuilder();
        foreach (JsonNode chunk in chunks.Skip(2).SkipLast(1))
        {
            JsonNode fragment = chunk["choices"]![0]!["delta"]!["tool_calls"]![0]!;
            Assert.Equal(0, (int)fragment["index"]!);
            Assert.False(fragment.AsObject().ContainsKey("id"));
            arguments.Append((string)fragment["function"]!["arguments"]!);
        }

        Assert.True(chunks.Count > 4);
        Assert.Equal("""{"city":"x"}""", arguments.ToString());
        Assert.Equal("tool_calls", (string)chunks[^1]["choices"]![0]!["finish_reason"]!);
    }
}
