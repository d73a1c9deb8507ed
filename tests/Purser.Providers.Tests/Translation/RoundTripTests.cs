using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class RoundTripTests
{
    [Fact]
    public void OpenAi_request_through_anthropic_and_back_keeps_the_conversation()
    {
        var original = Obj("""
            {"model":"alias","max_tokens":200,"temperature":0.5,"stop":["END"],"user":"u-1",
             "messages":[
               {"role":"system","content":"You are a weather bot."},
               {"role":"user","content":[{"type":"text","text":"Weather here?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}}]},
               {"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"18C"},
               {"role":"user","content":"And tomorrow?"}
             ],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "tool_choice":"required"}
            """);

        Assert.True(OpenAiToAnthropic.TryTranslateRequest(original, "claude-up", 200, out var anthropic, out _));
        Assert.True(AnthropicToOpenAi.TryTranslateRequest(anthropic, "gpt-up", out var back, out _));

        Equal("""
            {"model":"gpt-up",
             "messages":[
               {"role":"system","content":"You are a weather bot."},
               {"role":"user","content":[{"type":"text","text":"Weather here?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}}]},
               {"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"18C"},
               {"role":"user","content":"And tomorrow?"}
             ],
             "max_tokens":200,"temperature":0.5,"stop":["END"],"user":"u-1",
             "tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "tool_choice":"required"}
            """, back);
    }

    [Fact]
    public void Anthropic_response_through_openai_and_back_keeps_content_and_usage()
    {
        var anthropic = Obj("""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[
               {"type":"text","text":"Calling."},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":[1,2]}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":90,"output_tokens":5}}
            """);
        var openAi = OpenAiToAnthropic.TranslateResponse(anthropic, "alias", 1);
        var back = AnthropicToOpenAi.TranslateResponse(openAi, "claude");
        Equal("""
            {"id":"msg_chatcmpl-msg_1","type":"message","role":"assistant","model":"claude","content":[
               {"type":"text","text":"Calling."},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":[1,2]}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":90,"output_tokens":5}}
            """, back);
    }
}
