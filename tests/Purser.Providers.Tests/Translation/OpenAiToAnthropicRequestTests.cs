using System.Text.Json.Nodes;
using Purser.Providers.Translation;
using static Purser.Providers.Tests.Translation.JsonAssert;

namespace Purser.Providers.Tests.Translation;

public sealed class OpenAiToAnthropicRequestTests
{
    private static JsonObject Translate(string openAiJson, int maxTokens = 1024)
    {
        var ok = OpenAiToAnthropic.TryTranslateRequest(Obj(openAiJson), "claude-up", maxTokens, out var result, out var error);
        Assert.True(ok, "unexpected error: " + error.Message + " @ " + error.Param);
        return result;
    }

    private static TranslationError Refuse(string openAiJson)
    {
        var ok = OpenAiToAnthropic.TryTranslateRequest(Obj(openAiJson), "claude-up", 1024, out _, out var error);
        Assert.False(ok);
        return error;
    }

    [Fact]
    public void Simple_chat_becomes_messages_request_with_gateway_model_and_max_tokens()
    {
        var result = Translate("""
            {"model":"alias","max_completion_tokens":50,"messages":[{"role":"user","content":"hi"}]}
            """, maxTokens: 777);
        Equal("""
            {"model":"claude-up","max_tokens":777,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}
            """, result);
    }

    [Fact]
    public void System_and_developer_messages_fold_into_top_level_system_joined_by_blank_line()
    {
        var result = Translate("""
            {"messages":[
              {"role":"system","content":"You are terse."},
              {"role":"developer","content":[{"type":"text","text":"Part A"},{"type":"text","text":"Part B"}]},
              {"role":"user","content":"hi"},
              {"role":"system","content":"Late rule."}
            ]}
            """);
        Assert.Equal("You are terse.\n\nPart A\nPart B\n\nLate rule.", (string?)result["system"]);
        Equal("""[{"role":"user","content":[{"type":"text","text":"hi"}]}]""", result["messages"]);
    }

    [Fact]
    public void Multi_part_user_content_with_both_image_kinds_becomes_blocks()
    {
        var result = Translate("""
            {"messages":[{"role":"user","content":[
              {"type":"text","text":"What is in these?"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
              {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}
            ]}]}
            """);
        Equal("""
            [{"role":"user","content":[
              {"type":"text","text":"What is in these?"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}
            ]}]
            """, result["messages"]);
    }

    [Fact]
    public void Inline_pdf_file_part_becomes_document_block()
    {
        var result = Translate("""
            {"messages":[{"role":"user","content":[
              {"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]}
            """);
        Equal("""
            [{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]
            """, result["messages"]);
    }

    [Fact]
    public void Assistant_tool_calls_then_tool_results_and_user_text_merge_into_one_user_turn()
    {
        var result = Translate("""
            {"messages":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"18C"},
              {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"25C"}]},
              {"role":"user","content":"Thanks, which is warmer?"}
            ]}
            """);
        Equal("""
            [
              {"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},
              {"role":"assistant","content":[
                {"type":"text","text":"Checking."},
                {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"call_1","content":"18C"},
                {"type":"tool_result","tool_use_id":"call_2","content":"25C"},
                {"type":"text","text":"Thanks, which is warmer?"}]}
            ]
            """, result["messages"]);
    }

    [Fact]
    public void Assistant_with_null_content_and_empty_arguments_gives_only_tool_use_with_empty_input()
    {
        var result = Translate("""
            {"messages":[
              {"role":"user","content":"time?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"now","arguments":""}}]}
            ]}
            """);
        Equal("""
            {"role":"assistant","content":[{"type":"tool_use","id":"c","name":"now","input":{}}]}
            """, result["messages"]![1]);
    }

    [Fact]
    public void Consecutive_same_role_messages_merge_to_keep_alternation()
    {
        var result = Translate("""
            {"messages":[
              {"role":"user","content":"one"},
              {"role":"user","content":"two"},
              {"role":"assistant","content":"a"},
              {"role":"assistant","content":[{"type":"text","text":"b"}]},
              {"role":"user","content":"three"}
            ]}
            """);
        Equal("""
            [
              {"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
              {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
              {"role":"user","content":[{"type":"text","text":"three"}]}
            ]
            """, result["messages"]);
    }

    [Fact]
    public void Tool_result_following_user_text_is_placed_before_that_text()
    {
        var result = Translate("""
            {"messages":[
              {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
              {"role":"user","content":"note"},
              {"role":"tool","tool_call_id":"c","content":"ok"}
            ]}
            """);
        Equal("""
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"c","content":"ok"},{"type":"text","text":"note"}]}
            """, result["messages"]![1]);
    }

    [Fact]
    public void Function_tools_become_anthropic_tools_with_default_schema()
    {
        var result = Translate("""
            {"messages":[{"role":"user","content":"x"}],"tools":[
              {"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}},
              {"type":"function","function":{"name":"now"}}
            ]}
            """);
        Equal("""
            [
              {"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
              {"name":"now","input_schema":{"type":"object","properties":{}}}
            ]
            """, result["tools"]);
        Assert.False(result.ContainsKey("tool_choice"));
    }

    [Theory]
    [InlineData("\"auto\"", null, """{"type":"auto"}""")]
    [InlineData("\"none\"", null, """{"type":"none"}""")]
    [InlineData("\"required\"", null, """{"type":"any"}""")]
    [InlineData("""{"type":"function","function":{"name":"f"}}""", null, """{"type":"tool","name":"f"}""")]
    [InlineData("\"required\"", false, """{"type":"any","disable_parallel_tool_use":true}""")]
    [InlineData("null", false, """{"type":"auto","disable_parallel_tool_use":true}""")]
    [InlineData("\"none\"", false, """{"type":"none"}""")]
    [InlineData("""{"type":"function","function":{"name":"f"}}""", true, """{"type":"tool","name":"f"}""")]
    public void Tool_choice_and_parallel_tool_calls_map_to_anthropic_tool_choice(string toolChoice, bool? parallel, string expected)
    {
        var parallelJson = parallel is null ? "" : ",\"parallel_tool_calls\":" + (parallel.Value ? "true" : "false");
        var result = Translate("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"""
            + toolChoice + parallelJson + "}");
        Equal(expected, result["tool_choice"]);
    }

    [Fact]
    public void Tool_choice_without_tools_is_dropped()
    {
        var result = Translate("""{"messages":[{"role":"user","content":"x"}],"tool_choice":"required","parallel_tool_calls":false}""");
        Assert.False(result.ContainsKey("tool_choice"));
        Assert.False(result.ContainsKey("tools"));
    }

    [Theory]
    [InlineData("\"END\"", """["END"]""")]
    [InlineData("""["a","b"]""", """["a","b"]""")]
    public void Stop_string_or_array_becomes_stop_sequences(string stop, string expected)
    {
        var result = Translate("""{"messages":[{"role":"user","content":"x"}],"stop":""" + stop + "}");
        Equal(expected, result["stop_sequences"]);
    }

    [Theory]
    [InlineData("1.7", 1.0)]
    [InlineData("0.3", 0.3)]
    [InlineData("-0.5", 0.0)]
    public void Temperature_is_clamped_into_anthropic_range(string temperature, double expected)
    {
        var result = Translate("""{"messages":[{"role":"user","content":"x"}],"temperature":""" + temperature + "}");
        Assert.Equal(expected, (double)result["temperature"]!);
    }

    [Fact]
    public void Sampling_stream_and_user_are_copied_and_openai_only_fields_dropped()
    {
        var result = Translate("""
            {"model":"alias","messages":[{"role":"user","content":"x"}],"top_p":0.9,"stream":true,"user":"u-42",
             "n":1,"logprobs":true,"top_logprobs":2,"presence_penalty":0.5,"frequency_penalty":0.1,"seed":7,
             "logit_bias":{"50256":-100},"stream_options":{"include_usage":true},"store":true,"max_tokens":5}
            """, maxTokens: 5);
        Equal("""
            {"model":"claude-up","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],
             "top_p":0.9,"stream":true,"metadata":{"user_id":"u-42"}}
            """, result);
    }

    [Fact]
    public void Json_object_mode_appends_json_only_instruction_to_system()
    {
        var result = Translate("""
            {"messages":[{"role":"system","content":"Be helpful."},{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}
            """);
        var system = (string)result["system"]!;
        Assert.StartsWith("Be helpful.\n\n", system, StringComparison.Ordinal);
        Assert.Contains("exactly one JSON object", system, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_schema_mode_puts_schema_into_system_instruction()
    {
        var result = Translate("""
            {"messages":[{"role":"user","content":"x"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}
            """);
        var system = (string)result["system"]!;
        Assert.Contains("exactly one JSON object", system, StringComparison.Ordinal);
        Assert.Contains("""{"type":"object","properties":{"a":{"type":"integer"}}}""", system, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_response_format_adds_nothing()
    {
        var result = Translate("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}""");
        Assert.False(result.ContainsKey("system"));
    }

    [Fact]
    public void N_greater_than_one_is_refused()
    {
        var error = Refuse("""{"messages":[{"role":"user","content":"x"}],"n":2}""");
        Assert.Equal(new TranslationError("n > 1 is not supported by Anthropic-backed models", "n"), error);
    }

    [Theory]
    [InlineData("""{"messages":"hi"}""", "messages")]
    [InlineData("""{}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"wizard","content":"x"}]}""", "messages[1].role")]
    [InlineData("""{"messages":[{"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":5}]}]}""", "messages[0].content[1].text")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]}""", "messages[0].content[0].image_url.url")]
    [InlineData("""{"messages":[{"role":"system","content":{"a":1}},{"role":"user","content":"x"}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":7}]}""", "messages[1].content")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}""", "messages[1].tool_calls[1].function.arguments")]
    [InlineData("""{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}""", "messages[1].tool_calls[0].function.arguments")]
    [InlineData("""{"messages":[{"role":"tool","content":"x"}]}""", "messages[0].tool_call_id")]
    [InlineData("""{"messages":[{"role":"system","content":"only system"}]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"n":"two"}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stop":5}""", "stop")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stop":["a",1]}""", "stop[1]")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":{}}""", "tools")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"description":"no name"}}]}""", "tools[0].function.name")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"g"}}]}""", "tools[0].type")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"sometimes"}""", "tool_choice")]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}""", "response_format.type")]
    public void Wrong_types_are_refused_naming_the_param_path(string openAiJson, string expectedParam)
    {
        var error = Refuse(openAiJson);
        Assert.Equal(expectedParam, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Translation_does_not_mutate_or_share_nodes_with_the_input()
    {
        var input = Obj("""
            {"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]}
            """);
        var before = input.ToJsonString();
        Assert.True(OpenAiToAnthropic.TryTranslateRequest(input, "m", 10, out var result, out _));
        Assert.Equal(before, input.ToJsonString());
        // Editing the translation must not reach back into the caller's document.
        result["tools"]![0]!["input_schema"]!["properties"]!.AsObject().Add("b", new JsonObject());
        Assert.Equal(before, input.ToJsonString());
    }
}
