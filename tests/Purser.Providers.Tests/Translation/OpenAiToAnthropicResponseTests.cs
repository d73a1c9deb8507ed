using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class OpenAiToAnthropicResponseTests
{
    [Fact]
    public void Text_response_becomes_chat_completion_with_usage_including_cache_tokens()
    {
        var anthropic = Obj("""
            {"id":"msg_01abc","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Hello"},{"type":"text","text":" world"}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":7}}
            """);
        var result = OpenAiToAnthropic.TranslateResponse(anthropic, "my-alias", 1700000000);
        Equal("""
            {"id":"chatcmpl-msg_01abc","object":"chat.completion","created":1700000000,"model":"my-alias",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello world","refusal":null},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":115,"completion_tokens":7,"total_tokens":122,"prompt_tokens_details":{"cached_tokens":100}}}
            """, result);
    }

    [Fact]
    public void Tool_use_only_response_has_null_content_and_tool_calls_with_compact_arguments()
    {
        var anthropic = Obj("""
            {"id":"msg_1","content":[{"type":"tool_use","id":"toolu_9","name":"get_weather","input":{"city":"Zürich","units":["c"]}}],
             "stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}}
            """);
        var result = OpenAiToAnthropic.TranslateResponse(anthropic, "a", 1);
        Equal("""
            {"role":"assistant","content":null,"refusal":null,"tool_calls":[
              {"id":"toolu_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Zürich\",\"units\":[\"c\"]}"}}]}
            """, result["choices"]![0]!["message"]);
        Assert.Equal("tool_calls", (string?)result["choices"]![0]!["finish_reason"]);
        Equal("""{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0}}""", result["usage"]);
    }

    [Fact]
    public void Text_and_tool_use_keep_both_content_and_tool_calls()
    {
        var anthropic = Obj("""
            {"id":"m","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"}
            """);
        var message = OpenAiToAnthropic.TranslateResponse(anthropic, "a", 1)["choices"]![0]!["message"]!;
        Assert.Equal("Let me check.", (string?)message["content"]);
        Assert.Equal("{}", (string?)message["tool_calls"]![0]!["function"]!["arguments"]);
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    [InlineData("pause_turn", "stop")]
    public void Every_stop_reason_maps_to_a_finish_reason(string stopReason, string finishReason)
    {
        var anthropic = Obj("""{"id":"m","content":[{"type":"text","text":"x"}],"stop_reason":""" + "\"" + stopReason + "\"}");
        var result = OpenAiToAnthropic.TranslateResponse(anthropic, "a", 1);
        Assert.Equal(finishReason, (string?)result["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public void Null_cache_counts_and_missing_usage_read_as_zero()
    {
        var withNulls = Obj("""
            {"id":"m","content":[],"stop_reason":"max_tokens","usage":{"input_tokens":2,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":1}}
            """);
        Equal("""{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}""",
            OpenAiToAnthropic.TranslateResponse(withNulls, "a", 1)["usage"]);

        var noUsage = OpenAiToAnthropic.TranslateResponse(Obj("""{"id":"m","content":[]}"""), "a", 1);
        Equal("""{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}""", noUsage["usage"]);
        Assert.Equal("", (string?)noUsage["choices"]![0]!["message"]!["content"]);
    }
}
