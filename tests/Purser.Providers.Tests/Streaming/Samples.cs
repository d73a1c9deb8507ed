using System.Text;

namespace Purser.Providers.Tests.Streaming;

/// <summary>Streams shaped like what the OpenAI and Anthropic APIs send.</summary>
internal static class Samples
{
    public static string OpenAiChunk(string delta, string finish = "null", bool withUsageNull = true) =>
        "{\"id\":\"chatcmpl-AbC123\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,\"model\":\"gpt-4o-mini-2024-07-18\","
        + "\"system_fingerprint\":\"fp_0ba0d124f1\",\"choices\":[{\"index\":0,\"delta\":" + delta
        + ",\"logprobs\":null,\"finish_reason\":" + finish + "}]" + (withUsageNull ? ",\"usage\":null" : "") + "}";

    public const string OpenAiUsageChunk =
        """{"id":"chatcmpl-AbC123","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":9,"total_tokens":1209,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}""";

    /// <summary>The data of each event of a text stream with stream_options.include_usage.</summary>
    public static string[] OpenAiTextStream() =>
    [
        OpenAiChunk("""{"role":"assistant","content":"","refusal":null}"""),
        OpenAiChunk("""{"content":"Hello"}"""),
        OpenAiChunk("""{"content":", \"friend\"\n"}"""),
        OpenAiChunk("""{"content":"caf\u00e9 ☕"}"""),
        OpenAiChunk("{}", "\"stop\""),
        OpenAiUsageChunk,
        "[DONE]",
    ];

    public const string OpenAiTextStreamText = "Hello, \"friend\"\ncafé ☕";

    /// <summary>Two parallel tool calls, arguments in fragments, with include_usage.</summary>
    public static string[] OpenAiToolStream() =>
    [
        OpenAiChunk("""{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null}"""),
        OpenAiChunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]}"""),
        OpenAiChunk("""{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]}"""),
        OpenAiChunk("""{"tool_calls":[{"index":0,"function":{"arguments":"\":\"Paris, France\"}"}}]}"""),
        OpenAiChunk("""{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"get_time","arguments":""}}]}"""),
        OpenAiChunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":"}}]}"""),
        OpenAiChunk("""{"tool_calls":[{"index":1,"function":{"arguments":"\"CET\"}"}}]}"""),
        OpenAiChunk("{}", "\"tool_calls\""),
        OpenAiUsageChunk,
        "[DONE]",
    ];

    public static string AnthropicTextStream(string stopReason = "end_turn") => """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"! \"Quoted\"\nnext line caf\u00e9"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"STOP_REASON","stop_sequence":null},"usage":{"output_tokens":15}}

        event: message_stop
        data: {"type":"message_stop"}


        """.Replace("STOP_REASON", stopReason, StringComparison.Ordinal);

    public const string AnthropicTextStreamText = "Hello! \"Quoted\"\nnext line café";

    public const string AnthropicToolStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants the weather."}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Okay, let's check."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"San Fra"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\", \"unit\": \"fah"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"renheit\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":2}

        event: content_block_start
        data: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\"tz\": \"PST\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":3}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
