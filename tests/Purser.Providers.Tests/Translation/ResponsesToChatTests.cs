using System.Text.Json.Nodes;
using Purser.Providers.Translation;

namespace Purser.Providers.Tests.Translation;

public class ResponsesToChatTests
{
    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Instructions_messages_images_and_a_function_call_round_trip_become_chat_messages()
    {
        var request = Parse("""
            {"model":"claude-x","instructions":"Be brief.","stream":true,"temperature":0.2,
             "input":[
               {"role":"developer","content":"Use metric units."},
               {"role":"user","content":[{"type":"input_text","text":"Weather here?"},{"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]},
               {"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
               {"type":"function_call","call_id":"call_2","name":"get_time","arguments":"{}"},
               {"type":"function_call_output","call_id":"call_1","output":"4 C"},
               {"type":"reasoning","id":"rs_1","summary":[]}
             ],
             "tools":[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object"}}],
             "tool_choice":{"type":"function","name":"get_weather"},
             "text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"}}}}
            """);
        Assert.True(ResponsesToChat.TryTranslateRequest(request, out var chat, out _));

        var messages = chat["messages"]!.AsArray();
        Assert.Equal(["system", "system", "user", "assistant", "tool"], messages.Select(m => m!["role"]!.GetValue<string>()).ToArray());
        Assert.Equal("Be brief.", messages[0]!["content"]!.GetValue<string>());
        Assert.Equal("image_url", messages[2]!["content"]![1]!["type"]!.GetValue<string>());
        Assert.Equal("low", messages[2]!["content"]![1]!["image_url"]!["detail"]!.GetValue<string>());
        Assert.Equal(2, messages[3]!["tool_calls"]!.AsArray().Count);
        Assert.Equal("call_1", messages[4]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("get_weather", chat["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("get_weather", chat["tool_choice"]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("json_schema", chat["response_format"]!["type"]!.GetValue<string>());
        Assert.True(chat["stream"]!.GetValue<bool>());

        Assert.True(OpenAiToAnthropic.TryTranslateRequest(chat, "claude-x", 100, out var anthropic, out _));
        Assert.NotNull(anthropic["system"]);
    }

    [Theory]
    [InlineData("""{"model":"m","input":"hi","previous_response_id":"resp_1"}""", "previous_response_id")]
    [InlineData("""{"model":"m","input":"hi","background":true}""", "background")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"web_search"}]}""", "tools")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}""", "input")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}""", "input")]
    [InlineData("""{"model":"m"}""", "input")]
    public void What_only_the_responses_api_can_do_is_refused_naming_the_field(string json, string param)
    {
        Assert.False(ResponsesToChat.TryTranslateRequest(Parse(json), out _, out var error));
        Assert.Equal(param, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Background_false_is_not_a_refusal()
    {
        Assert.True(ResponsesToChat.TryTranslateRequest(Parse("""{"model":"m","input":"hi","background":false}"""), out var chat, out _));
        Assert.Equal("hi", chat["messages"]![0]!["content"]!.GetValue<string>());
    }
}
