using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

public sealed class AnthropicMessagesTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public AnthropicMessagesTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    [Fact]
    public async Task Non_stream_message_has_anthropic_shape_and_usage()
    {
        // system "Be brief." = 9 bytes -> 3 (+4); user "hello" 5 bytes -> 2 (+4); + 3 = 16, of which 5 cached.
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim~out=4,cached=5","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"hello"}]}
            """));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("req_", response.Headers.GetValues("request-id").Single(), StringComparison.Ordinal);
        Assert.StartsWith("msg_", (string)body["id"]!, StringComparison.Ordinal);
        Assert.Equal("message", (string)body["type"]!);
        Assert.Equal("assistant", (string)body["role"]!);
        Assert.Equal("claude-sim~out=4,cached=5", (string)body["model"]!);
        Assert.Equal("text", (string)body["content"]![0]!["type"]!);
        Assert.Equal("lore ipsu dolo sita", (string)body["content"]![0]!["text"]!);
        Assert.Equal("end_turn", (string)body["stop_reason"]!);
        Assert.True(body.AsObject().ContainsKey("stop_sequence"));
        Assert.Null(body["stop_sequence"]);
        JsonNode usage = body["usage"]!;
        Assert.Equal(11, (int)usage["input_tokens"]!);
        Assert.Equal(5, (int)usage["cache_read_input_tokens"]!);
        Assert.Equal(0, (int)usage["cache_creation_input_tokens"]!);
        Assert.Equal(4, (int)usage["output_tokens"]!);
    }

    [Fact]
    public async Task Max_tokens_cap_and_stop_sequence_set_stop_reason()
    {
        var (_, capped) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim~out=10","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}
            """));
        var (_, stopped) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim~out=10","max_tokens":100,"stop_sequences":["dolo"],"messages":[{"role":"user","content":"hi"}]}
            """));

        Assert.Equal("max_tokens", (string)capped["stop_reason"]!);
        Assert.Equal("lore ipsu", (string)capped["content"]![0]!["text"]!);
        Assert.Equal(2, (int)capped["usage"]!["output_tokens"]!);
        Assert.Equal("stop_sequence", (string)stopped["stop_reason"]!);
        Assert.Equal("dolo", (string)stopped["stop_sequence"]!);
        Assert.Equal("lore ipsu ", (string)stopped["content"]![0]!["text"]!);
        Assert.Equal(2, (int)stopped["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task Tools_produce_tool_use_block_until_tool_result_arrives()
    {
        const string Tools = """
            "tools":[{"name":"lookup","description":"d","input_schema":{"type":"object","properties":{"q":{"type":"string"},"k":{"type":"integer"}},"required":["q","k"]}}]
            """;
        var (_, call) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(
            "{\"model\":\"claude-sim\",\"max_tokens\":50,\"tool_choice\":{\"type\":\"any\"}," + Tools + ",\"messages\":[{\"role\":\"user\",\"content\":\"find\"}]}"));
        var (_, answer) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(
            "{\"model\":\"claude-sim~out=1\",\"max_tokens\":50," + Tools + """
            ,"messages":[{"role":"user","content":"find"},
                         {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"q":"x","k":1}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"found"}]}]}
            """));

        Assert.Equal("tool_use", (string)call["stop_reason"]!);
        JsonNode block = call["content"]![0]!;
        Assert.Equal("tool_use", (string)block["type"]!);
        Assert.StartsWith("toolu_", (string)block["id"]!, StringComparison.Ordinal);
        Assert.Equal("lookup", (string)block["name"]!);
        Assert.Equal("x", (string)block["input"]!["q"]!);
        Assert.Equal(1, (int)block["input"]!["k"]!);

        Assert.Equal("end_turn", (string)answer["stop_reason"]!);
        Assert.Equal("lore", (string)answer["content"]![0]!["text"]!);
    }

    [Fact]
    public async Task Stream_events_arrive_in_protocol_order()
    {
        var (response, frames) = await sim.StreamAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim~out=3","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hello"}]}
            """));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        string[] order = frames.Select(f => f.Event!).ToArray();
        Assert.Equal(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            order);
        List<JsonNode> events = frames.Select(f => JsonNode.Parse(f.Data)!).ToList();
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i].Event, (string)events[i]["type"]!);
        }

        JsonNode start = events[0]["message"]!;
        Assert.Empty(start["content"]!.AsArray());
        Assert.Equal(4 + 2 + 3, (int)start["usage"]!["input_tokens"]!);
        Assert.Equal(1, (int)start["usage"]!["output_tokens"]!);
        Assert.Equal("text", (string)events[1]["content_block"]!["type"]!);
        Assert.Equal(string.Empty, (string)events[1]["content_block"]!["text"]!);
        string text = string.Concat(events.Skip(3).Take(3).Select(e =>
        {
            Assert.Equal("text_delta", (string)e["delta"]!["type"]!);
            return (string)e["delta"]!["text"]!;
        }));
        Assert.Equal("lore ipsu dolo", text);
        Assert.Equal("end_turn", (string)events[7]["delta"]!["stop_reason"]!);
        Assert.Null(events[7]["delta"]!["stop_sequence"]);
        Assert.Equal(3, (int)events[7]["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task Tool_use_stream_sends_input_json_deltas()
    {
        var (_, frames) = await sim.StreamAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"go"}],
             "tools":[{"name":"t","input_schema":{"type":"object","properties":{"flag":{"type":"boolean"},"list":{"type":"array"}},"required":["flag","list"]}}]}
            """));

        List<JsonNode> events = frames.Select(f => JsonNode.Parse(f.Data)!).ToList();
        JsonNode block = events[1]["content_block"]!;
        Assert.Equal("tool_use", (string)block["type"]!);
        Assert.Equal("t", (string)block["name"]!);
        Assert.Empty(block["input"]!.AsObject());
        var json = new StringBuilder();
        foreach (JsonNode e in events.Where(e => (string)e["type"]! == "content_block_delta"))
        {
            Assert.Equal("input_json_delta", (string)e["delta"]!["type"]!);
            json.Append((string)e["delta"]!["partial_json"]!);
        }

        Assert.Equal("""{"flag":true,"list":[]}""", json.ToString());
        JsonNode delta = events.Single(e => (string)e["type"]! == "message_delta");
        Assert.Equal("tool_use", (string)delta["delta"]!["stop_reason"]!);
        Assert.Equal("message_stop", (string)events[^1]["type"]!);
    }

    [Fact]
    public async Task Missing_anthropic_version_is_400()
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(
            """{"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", version: null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", (string)body["type"]!);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Contains("anthropic-version", (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"claude-sim","messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"claude-sim","max_tokens":10}""", "messages")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"system":5}""", "system")]
    [InlineData("[1,2", "JSON")]
    public async Task Invalid_bodies_are_400_in_anthropic_shape(string json, string mentioned)
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", (string)body["type"]!);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Contains(mentioned, (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_key_is_401_authentication_error()
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(
            """{"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", key: null));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("error", (string)body["type"]!);
        Assert.Equal("authentication_error", (string)body["error"]!["type"]!);
    }
}
