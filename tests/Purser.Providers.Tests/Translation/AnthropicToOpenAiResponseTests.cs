using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class AnthropicToOpenAiResponseTests
{
    [Fact]
    public void Chat_completion_becomes_message_with_cached_tokens_split_out()
    {
        var openAi = Obj("""
            {"id":"chatcmpl-123","object":"chat.completion","created":1,"model":"gpt-4o",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hi there","refusal":null},"finish_reason":"stop"},
                        {"index":1,"message":{"role":"assistant","content":"ignored"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":1200,"completion_tokens":30,"total_tokens":1230,"prompt_tokens_details":{"cached_tokens":1024}}}
            """);
        Equal("""
            {"id":"msg_chatcmpl-123","type":"message","role":"assistant","model":"claude-alias",
             "content":[{"type":"text","text":"Hi there"}],"stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":176,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":30}}
            """, AnthropicToOpenAi.TranslateResponse(openAi, "claude-alias"));
    }

    [Fact]
    public void Tool_calls_become_tool_use_blocks_with_unparseable_arguments_as_empty_input()
    {
        var openAi = Obj("""
            {"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
              {"id":"call_2","type":"function","function":{"name":"g","arguments":"{broken"}}]},"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":5,"completion_tokens":2}}
            """);
        var result = AnthropicToOpenAi.TranslateResponse(openAi, "m");
        Equal("""
            [{"type":"tool_use","id":"call_1","name":"f","input":{"a":1}},{"type":"tool_use","id":"call_2","name":"g","input":{}}]
            """, result["content"]);
        Assert.Equal("tool_use", (string?)result["stop_reason"]);
        Equal("""{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}""", result["usage"]);
    }

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("function_call", "tool_use")]
    [InlineData("content_filter", "refusal")]
    public void Every_finish_reason_maps_to_a_stop_reason(string finishReason, string stopReason)
    {
        var openAi = Obj("""{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":""" + "\"" + finishReason + "\"}]}");
        Assert.Equal(stopReason, (string?)AnthropicToOpenAi.TranslateResponse(openAi, "m")["stop_reason"]);
    }

    [Fact]
    public void Refusal_becomes_text_with_refusal_stop_reason()
    {
        var openAi = Obj("""{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}""");
        var result = AnthropicToOpenAi.TranslateResponse(openAi, "m");
        Equal("""[{"type":"text","text":"I can't help with that."}]""", result["content"]);
        Assert.Equal("refusal", (string?)result["stop_reason"]);
    }

    [Fact]
    public void Empty_content_and_missing_usage_give_empty_blocks_and_zero_usage()
    {
        var result = AnthropicToOpenAi.TranslateResponse(Obj("""{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"length"}]}"""), "m");
        Equal("[]", result["content"]);
        Assert.Equal("max_tokens", (string?)result["stop_reason"]);
        Equal("""{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}""", result["usage"]);
    }
}
