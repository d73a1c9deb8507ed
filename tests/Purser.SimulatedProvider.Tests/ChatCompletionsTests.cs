using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

public sealed class ChatCompletionsTests : IClassFixture<SimServerFixture>
{
    private readonly SimServerFixture sim;

    public ChatCompletionsTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    [Fact]
    public async Task Non_stream_response_has_openai_shape_and_exact_usage()
    {
        // system "You are terse." = 14 bytes -> 4 tokens; user "héllo wörld" = 13 UTF-8 bytes -> 4 tokens.
        // Input = (4 + 4) + (4 + 4) + 3 = 19. Output = 5 words.
        var (response, body) = await sim.ChatAsync("""
            {"model":"sim-chat~out=5","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"héllo wörld"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("req_", response.Headers.GetValues("x-request-id").Single(), StringComparison.Ordinal);
        Assert.StartsWith("chatcmpl-", (string)body["id"]!, StringComparison.Ordinal);
        Assert.Equal("chat.completion", (string)body["object"]!);
        Assert.Equal("sim-chat~out=5", (string)body["model"]!);
        Assert.True((long)body["created"]! > 1_600_000_000);
        Assert.Equal("fp_sim", (string)body["system_fingerprint"]!);
        Assert.Equal("default", (string)body["service_tier"]!);

        JsonNode choice = body["choices"]![0]!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("stop", (string)choice["finish_reason"]!);
        Assert.Equal(JsonValueKind.Null, choice["logprobs"]?.GetValueKind() ?? JsonValueKind.Null);
        JsonNode message = choice["message"]!;
        Assert.Equal("assistant", (string)message["role"]!);
        Assert.Equal("lore ipsu dolo sita amet", (string)message["content"]!);
        Assert.Null(message["refusal"]);
        Assert.Empty(message["annotations"]!.AsArray());

        JsonNode usage = body["usage"]!;
        Assert.Equal(19, (int)usage["prompt_tokens"]!);
        Assert.Equal(5, (int)usage["completion_tokens"]!);
        Assert.Equal(24, (int)usage["total_tokens"]!);
        Assert.Equal(0, (int)usage["prompt_tokens_details"]!["cached_tokens"]!);
        Assert.Equal(0, (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);
    }

    [Fact]
    public async Task Default_output_is_twenty_tokens_and_cached_option_is_reported()
    {
        var request = SimServerFixture.OpenAiRequest("/v1/chat/completions", """{"model":"sim-chat","messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("x-sim-cached", "3");
        var (_, body) = await sim.SendJsonAsync(request);

        string content = (string)body["choices"]![0]!["message"]!["content"]!;
        Assert.Equal(20, content.Split(' ').Length);
        Assert.Equal(20, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(3, (int)body["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
    }

    [Fact]
    public async Task Headers_win_over_model_name_options()
    {
        var request = SimServerFixture.OpenAiRequest("/v1/chat/completions", """{"model":"sim-chat~out=9","messages":[{"role":"user","content":"hi"}]}""");
        request.Headers.Add("x-sim-out", "2");
        var (_, body) = await sim.SendJsonAsync(request);

        Assert.Equal("lore ipsu", (string)body["choices"]![0]!["message"]!["content"]!);
    }

    [Fact]
    public async Task Max_tokens_truncates_with_finish_length()
    {
        var (_, body) = await sim.ChatAsync("""{"model":"sim-chat~out=10","max_completion_tokens":3,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("lore ipsu dolo", (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("length", (string)body["choices"]![0]!["finish_reason"]!);
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Stop_sequence_cuts_before_match_and_counts_emitted_tokens()
    {
        var (_, body) = await sim.ChatAsync("""{"model":"sim-chat~out=10","stop":["sita","nope"],"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("lore ipsu dolo ", (string)body["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("stop", (string)body["choices"]![0]!["finish_reason"]!);
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task N_two_returns_two_choices_and_sums_completion_tokens()
    {
        var (_, body) = await sim.ChatAsync("""{"model":"sim-chat~out=4","n":2,"messages":[{"role":"user","content":"hi"}]}""");

        JsonArray choices = body["choices"]!.AsArray();
        Assert.Equal(2, choices.Count);
        Assert.Equal(0, (int)choices[0]!["index"]!);
        Assert.Equal(1, (int)choices[1]!["index"]!);
        Assert.Equal((string)choices[0]!["message"]!["content"]!, (string)choices[1]!["message"]!["content"]!);
        Assert.Equal(8, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Json_mode_content_is_a_json_object_counted_by_bytes()
    {
        var (_, body) = await sim.ChatAsync("""{"model":"sim-chat~out=3","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}""");

        string content = (string)body["choices"]![0]!["message"]!["content"]!;
        JsonNode parsed = JsonNode.Parse(content)!;
        Assert.Equal("lore ipsu dolo", (string)parsed["answer"]!);
        Assert.Equal((content.Length + 3) / 4, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Tool_call_fills_every_required_property_by_type()
    {
        var (_, body) = await sim.ChatAsync("""
            {"model":"sim-chat","messages":[{"role":"user","content":"weather?"}],
             "tools":[{"type":"function","function":{"name":"other","parameters":{"type":"object"}}},
                      {"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
                        "properties":{"city":{"type":"string"},"days":{"type":"integer"},"temp":{"type":"number"},"metric":{"type":"boolean"},
                                      "tags":{"type":"array"},"opts":{"type":"object"},"unit":{"type":"string","enum":["c","f"]},"note":{"type":"string"}},
                        "required":["city","days","temp","metric","tags","opts","unit"]}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
            """);

        JsonNode choice = body["choices"]![0]!;
        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
        Assert.Null(choice["message"]!["content"]);
        JsonNode call = choice["message"]!["tool_calls"]![0]!;
        Assert.StartsWith("call_", (string)call["id"]!, StringComparison.Ordinal);
        Assert.Equal("function", (string)call["type"]!);
        Assert.Equal("get_weather", (string)call["function"]!["name"]!);
        string arguments = (string)call["function"]!["arguments"]!;
        Assert.Equal("""{"city":"x","days":1,"temp":1,"metric":true,"tags":[],"opts":{},"unit":"c"}""", arguments);
        Assert.Equal((arguments.Length + 3) / 4, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Tool_result_as_last_message_gets_a_text_answer()
    {
        var (_, body) = await sim.ChatAsync("""
            {"model":"sim-chat~out=2","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
             "messages":[{"role":"user","content":"go"},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                         {"role":"tool","tool_call_id":"call_1","content":"sunny"}]}
            """);

        JsonNode choice = body["choices"]![0]!;
        Assert.Equal("stop", (string)choice["finish_reason"]!);
        Assert.Equal("lore ipsu", (string)choice["message"]!["content"]!);
        // user "go" (1) + assistant "f{}" (1) + tool "sunny" (2), each + 4, + tools JSON + 3.
        string tools = """[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]""";
        Assert.Equal(5 + 5 + 6 + ((tools.Length + 3) / 4) + 3, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Tool_choice_none_answers_with_text()
    {
        var (_, body) = await sim.ChatAsync("""
            {"model":"sim-chat~out=1","tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"go"}]}
            """);

        Assert.Equal("lore", (string)body["choices"]![0]!["message"]!["content"]!);
    }

    [Fact]
    public async Task Missing_key_is_401_in_openai_shape()
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.OpenAiRequest("/v1/chat/completions", """{"model":"m","messages":[]}""", key: null));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Equal("invalid_api_key", (string)body["error"]!["code"]!);
        Assert.Null(body["error"]!["param"]);
        Assert.False(string.IsNullOrEmpty((string)body["error"]!["message"]!));
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":"3"}""", "max_tokens")]
    [InlineData("""{"model":"m~bogus=1","messages":[{"role":"user","content":"hi"}]}""", "model")]
    public async Task Bad_requests_are_400_in_openai_shape(string json, string? param)
    {
        var (response, body) = await sim.ChatAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Equal(param, (string?)body["error"]!["param"]);
        Assert.True(body["error"]!.AsObject().ContainsKey("code"));
    }

    [Fact]
    public async Task Input_token_count_never_exceeds_request_bytes()
    {
        string json = """{"model":"m","messages":[{"role":"user","content":""},{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text","text":"\u00e9\u00e9"}]}]}""";
        var (_, body) = await sim.ChatAsync(json);

        Assert.True((int)body["usage"]!["prompt_tokens"]! <= System.Text.Encoding.UTF8.GetByteCount(json));
        Assert.Equal(4 + 5 + 5 + 3, (int)body["usage"]!["prompt_tokens"]!);
    }
}
