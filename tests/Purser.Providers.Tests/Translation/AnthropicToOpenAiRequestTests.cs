using System.Text.Json.Nodes;
using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class AnthropicToOpenAiRequestTests
{
    private static JsonObject Translate(string anthropicJson)
    {
        var ok = AnthropicToOpenAi.TryTranslateRequest(Obj(anthropicJson), "gpt-up", out var result, out var error);
        Assert.True(ok, "unexpected error: " + error.Message + " @ " + error.Param);
        return result;
    }

    [Fact]
    public void Simple_request_becomes_chat_request_with_system_first()
    {
        var result = Translate("""
            {"model":"alias","max_tokens":300,"system":"Be brief.","messages":[{"role":"user","content":"hi"}],"top_k":5}
            """);
        Equal("""
            {"model":"gpt-up","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"max_tokens":300}
            """, result);
    }

    [Fact]
    public void System_text_blocks_are_joined_into_one_system_message()
    {
        var result = Translate("""
            {"max_tokens":1,"system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}],
             "messages":[{"role":"user","content":"hi"}]}
            """);
        Equal("""{"role":"system","content":"A\n\nB"}""", result["messages"]![0]);
    }

    [Fact]
    public void System_entries_inside_messages_become_system_messages_in_place()
    {
        // What Claude Code sends: a top-level system prompt and system entries mid-conversation, string and blocks.
        var result = Translate("""
            {"max_tokens":1,"system":"Top.","messages":[
              {"role":"user","content":"hi"},
              {"role":"system","content":"Reminder one."},
              {"role":"assistant","content":"hello"},
              {"role":"system","content":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}]},
              {"role":"user","content":[{"type":"text","text":"go on"}]}]}
            """);
        Equal("""
            [{"role":"system","content":"Top."},{"role":"user","content":"hi"},{"role":"system","content":"Reminder one."},
             {"role":"assistant","content":"hello"},{"role":"system","content":"A\n\nB"},{"role":"user","content":"go on"}]
            """, result["messages"]);
    }

    [Theory]
    [InlineData("""{"role":"system","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}}]}""", "messages[0].content[0]")]
    [InlineData("""{"role":"system","content":7}""", "messages[0].content")]
    [InlineData("""{"role":"tool","content":"x"}""", "messages[0].role")]
    public void System_entries_that_are_not_text_and_unknown_roles_are_refused(string message, string param)
    {
        var ok = AnthropicToOpenAi.TryTranslateRequest(Obj("""{"max_tokens":1,"messages":[""" + message + "]}"), "gpt-up", out _, out var error);
        Assert.False(ok);
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Single_text_block_becomes_string_content_and_mixed_blocks_become_parts_with_both_image_kinds()
    {
        var result = Translate("""
            {"max_tokens":1,"messages":[
              {"role":"user","content":[{"type":"text","text":"only"}]},
              {"role":"assistant","content":"ok"},
              {"role":"user","content":[
                {"type":"text","text":"Compare"},
                {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
                {"type":"image","source":{"type":"url","url":"https://example.com/b.png"}}]}
            ]}
            """);
        Equal("""
            [
              {"role":"user","content":"only"},
              {"role":"assistant","content":"ok"},
              {"role":"user","content":[
                {"type":"text","text":"Compare"},
                {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
                {"type":"image_url","image_url":{"url":"https://example.com/b.png"}}]}
            ]
            """, result["messages"]);
    }

    [Fact]
    public void Tool_use_and_tool_results_become_tool_calls_and_tool_messages_before_the_user_text()
    {
        var result = Translate("""
            {"max_tokens":1,"messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":[
                {"type":"thinking","thinking":"need tool","signature":"sig"},
                {"type":"text","text":"Checking."},
                {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
              {"role":"user","content":[
                {"type":"text","text":"Also, be quick."},
                {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
                {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"25C"},{"type":"text","text":"sunny"}],"is_error":false}]}
            ]}
            """);
        Equal("""
            [
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
              {"role":"tool","tool_call_id":"toolu_1","content":"18C"},
              {"role":"tool","tool_call_id":"toolu_2","content":"25C\nsunny"},
              {"role":"user","content":"Also, be quick."}
            ]
            """, result["messages"]);
    }

    [Fact]
    public void Assistant_with_only_tool_use_has_null_content_and_image_in_tool_result_moves_to_user_message()
    {
        var result = Translate("""
            {"max_tokens":1,"messages":[
              {"role":"user","content":"shot?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"screenshot","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[
                {"type":"text","text":"here"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAA"}}]}]}
            ]}
            """);
        Equal("""
            [
              {"role":"user","content":"shot?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"screenshot","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"t","content":"here"},
              {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}}]}
            ]
            """, result["messages"]);
    }

    [Fact]
    public void Assistant_with_only_thinking_is_dropped()
    {
        var result = Translate("""
            {"max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"}]},{"role":"user","content":"b"}]}
            """);
        Equal("""[{"role":"user","content":"a"},{"role":"user","content":"b"}]""", result["messages"]);
    }

    [Fact]
    public void Tools_become_function_tools_with_input_schema_as_parameters()
    {
        var result = Translate("""
            {"max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[
              {"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
              {"type":"custom","name":"noop","input_schema":{"type":"object"}}]}
            """);
        Equal("""
            [
              {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
              {"type":"function","function":{"name":"noop","parameters":{"type":"object"}}}
            ]
            """, result["tools"]);
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", "\"auto\"", null)]
    [InlineData("""{"type":"any"}""", "\"required\"", null)]
    [InlineData("""{"type":"none"}""", "\"none\"", null)]
    [InlineData("""{"type":"tool","name":"f"}""", """{"type":"function","function":{"name":"f"}}""", null)]
    [InlineData("""{"type":"auto","disable_parallel_tool_use":true}""", "\"auto\"", false)]
    [InlineData("""{"type":"any","disable_parallel_tool_use":false}""", "\"required\"", null)]
    public void Tool_choice_variants_map_to_openai(string toolChoice, string expectedChoice, bool? expectedParallel)
    {
        var result = Translate("""{"max_tokens":1,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":"""
            + toolChoice + "}");
        Equal(expectedChoice, result["tool_choice"]);
        if (expectedParallel is null)
        {
            Assert.False(result.ContainsKey("parallel_tool_calls"));
        }
        else
        {
            Assert.Equal(expectedParallel, (bool?)result["parallel_tool_calls"]);
        }
    }

    [Fact]
    public void Sampling_stop_stream_and_metadata_map_and_top_k_is_dropped()
    {
        var result = Translate("""
            {"max_tokens":64,"messages":[{"role":"user","content":"x"}],"temperature":0.2,"top_p":0.8,"top_k":40,
             "stop_sequences":["END","STOP"],"stream":true,"metadata":{"user_id":"u-7"},"thinking":{"type":"enabled","budget_tokens":1024}}
            """);
        Equal("""
            {"model":"gpt-up","messages":[{"role":"user","content":"x"}],"max_tokens":64,"temperature":0.2,"top_p":0.8,
             "stop":["END","STOP"],"stream":true,"stream_options":{"include_usage":true},"user":"u-7"}
            """, result);
    }

    [Fact]
    public void Non_streaming_request_gets_no_stream_options()
    {
        var result = Translate("""{"max_tokens":1,"messages":[{"role":"user","content":"x"}],"stream":false}""");
        Assert.False((bool)result["stream"]!);
        Assert.False(result.ContainsKey("stream_options"));
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("""{"max_tokens":"10","messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("""{"max_tokens":0,"messages":[{"role":"user","content":"x"}]}""", "max_tokens")]
    [InlineData("""{"max_tokens":10}""", "messages")]
    [InlineData("""{"max_tokens":10,"messages":{"role":"user"}}""", "messages")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"developer","content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":5}]}""", "messages[0].content")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"audio"}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}""", "messages[0].content[0].source")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}""", "messages[0].content[0].tool_use_id")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"max_tokens":10,"system":5,"messages":[]}""", "system")]
    [InlineData("""{"max_tokens":10,"messages":[],"tools":[{"type":"web_search_20250305","name":"web_search"}]}""", "tools[0].type")]
    [InlineData("""{"max_tokens":10,"messages":[],"tools":[{"name":"f"}],"tool_choice":{"type":"tool"}}""", "tool_choice.name")]
    [InlineData("""{"max_tokens":10,"messages":[],"stop_sequences":"END"}""", "stop_sequences")]
    public void Missing_or_invalid_fields_are_refused_naming_the_param(string anthropicJson, string expectedParam)
    {
        var ok = AnthropicToOpenAi.TryTranslateRequest(Obj(anthropicJson), "gpt-up", out _, out var error);
        Assert.False(ok);
        Assert.Equal(expectedParam, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
