using System.Text.Json.Nodes;
using Purser.Usage;

namespace Purser.Providers.Translation;

/// <summary>
/// Translates an Anthropic Message into an OpenAI Responses API response object: text blocks become one assistant
/// <c>message</c> item of <c>output_text</c> parts, each <c>tool_use</c> block a <c>function_call</c> item (its id is
/// the <c>call_id</c>), thinking is dropped (billed as output, not shown); <c>stop_reason: max_tokens</c> makes the
/// response <c>incomplete</c>; the usage is the Responses API's (input including cache reads and writes, cached input,
/// output). The shared envelope fields are written by <see cref="Envelope"/>, also used by the stream translator.
/// </summary>
public static class AnthropicToResponses
{
    public static JsonObject TranslateResponse(JsonObject message, TokenUsage usage, string responseId, string model, long createdAt, int maxOutputTokens)
    {
        ArgumentNullException.ThrowIfNull(message);
        var output = new JsonArray();
        JsonArray? textParts = null;
        if (message["content"] is JsonArray blocks)
        {
            foreach (var node in blocks)
            {
                if (node is not JsonObject block)
                {
                    continue;
                }

                switch (JsonNodes.GetString(block, "type"))
                {
                    case "text":
                        if (textParts is null)
                        {
                            textParts = [];
                            output.Add((JsonNode?)new JsonObject
                            {
                                ["id"] = "msg_" + responseId,
                                ["type"] = "message",
                                ["status"] = "completed",
                                ["content"] = textParts,
                                ["role"] = "assistant",
                            });
                        }

                        textParts.Add((JsonNode?)TextPart(JsonNodes.GetString(block, "text") ?? ""));
                        break;
                    case "tool_use":
                        var id = JsonNodes.GetString(block, "id") ?? "";
                        output.Add((JsonNode?)FunctionCall(id, JsonNodes.GetString(block, "name") ?? "", JsonNodes.ToCompactJson(block["input"] ?? new JsonObject()), "completed"));
                        break;
                }
            }
        }

        var incomplete = JsonNodes.GetString(message, "stop_reason") is "max_tokens" or "model_context_window_exceeded";
        var response = Envelope(responseId, model, createdAt, maxOutputTokens, incomplete ? "incomplete" : "completed", output);
        response["usage"] = Usage(usage);
        return response;
    }

    /// <summary>A response object without usage: the envelope every Responses event that carries a response repeats.</summary>
    public static JsonObject Envelope(string responseId, string model, long createdAt, int maxOutputTokens, string status, JsonArray output) => new()
    {
        ["id"] = responseId,
        ["object"] = "response",
        ["created_at"] = createdAt,
        ["status"] = status,
        ["background"] = false,
        ["error"] = null,
        ["incomplete_details"] = status == "incomplete" ? new JsonObject { ["reason"] = "max_output_tokens" } : null,
        ["instructions"] = null,
        ["max_output_tokens"] = maxOutputTokens,
        ["model"] = model,
        ["output"] = output,
        ["parallel_tool_calls"] = true,
        ["previous_response_id"] = null,
        ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
        ["service_tier"] = "default",
        ["store"] = false,
        ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
        ["tool_choice"] = "auto",
        ["tools"] = new JsonArray(),
        ["truncation"] = "disabled",
        ["usage"] = null,
        ["user"] = null,
        ["metadata"] = new JsonObject(),
    };

    public static JsonObject Usage(TokenUsage usage) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = usage.CachedInputTokens },
        ["output_tokens"] = usage.OutputTokens,
        ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = usage.ReasoningTokens },
        ["total_tokens"] = usage.InputTokens + usage.OutputTokens,
    };

    public static JsonObject TextPart(string text) => new()
    {
        ["type"] = "output_text",
        ["annotations"] = new JsonArray(),
        ["logprobs"] = new JsonArray(),
        ["text"] = text,
    };

    public static JsonObject FunctionCall(string callId, string name, string arguments, string status) => new()
    {
        ["id"] = "fc_" + callId,
        ["type"] = "function_call",
        ["status"] = status,
        ["arguments"] = arguments,
        ["call_id"] = callId,
        ["name"] = name,
    };
}
