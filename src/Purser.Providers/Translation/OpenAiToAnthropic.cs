using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Lets a caller speaking OpenAI Chat Completions reach an Anthropic Messages model: the request goes
/// OpenAI → Anthropic, the non-streaming response comes back Anthropic → OpenAI.
/// </summary>
public static class OpenAiToAnthropic
{
    private const string JsonOnlyInstruction =
        "Respond with exactly one JSON object and nothing else: no prose before or after it, no markdown code fences.";

    /// <summary>
    /// Translates an OpenAI chat request into an Anthropic Messages request for <paramref name="upstreamModel"/>.
    /// <paramref name="maxTokens"/> is the limit the gateway settled on (Anthropic requires one).
    /// Returns false with a 400-worthy <paramref name="error"/> when the request cannot be expressed for Anthropic.
    /// </summary>
    public static bool TryTranslateRequest(
        JsonObject openAiRequest,
        string upstreamModel,
        int maxTokens,
        out JsonObject anthropicRequest,
        out TranslationError error)
    {
        ArgumentNullException.ThrowIfNull(openAiRequest);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        anthropicRequest = [];
        error = default;

        if (openAiRequest["n"] is { } nNode && !JsonNodes.IsNull(nNode))
        {
            if (!JsonNodes.TryGetLong(nNode, out var n))
            {
                error = new TranslationError("n must be an integer", "n");
                return false;
            }

            if (n > 1)
            {
                error = new TranslationError("n > 1 is not supported by Anthropic-backed models", "n");
                return false;
            }
        }

        if (openAiRequest["messages"] is not JsonArray messages)
        {
            error = new TranslationError("messages must be an array", "messages");
            return false;
        }

        var system = new StringBuilder();
        var outMessages = new JsonArray();
        if (!OpenAiToAnthropicMessages.TryTranslate(messages, system, outMessages, out error))
        {
            return false;
        }

        if (outMessages.Count == 0)
        {
            error = new TranslationError("messages must contain at least one user or assistant message", "messages");
            return false;
        }

        if (!TryAppendResponseFormat(openAiRequest["response_format"], system, out error))
        {
            return false;
        }

        var result = new JsonObject
        {
            ["model"] = upstreamModel,
            ["max_tokens"] = maxTokens,
        };
        if (system.Length > 0)
        {
            result["system"] = system.ToString();
        }

        result["messages"] = outMessages;

        if (!SamplingTranslation.TryOpenAiToAnthropic(openAiRequest, result, out error)
            || !ToolTranslation.TryOpenAiToAnthropic(openAiRequest, result, out error))
        {
            return false;
        }

        anthropicRequest = result;
        return true;
    }

    /// <summary>
    /// Translates an Anthropic Messages response into an OpenAI chat.completion. <paramref name="model"/> is the
    /// alias the caller asked for; <paramref name="created"/> is unix seconds. Missing fields degrade to defaults.
    /// </summary>
    public static JsonObject TranslateResponse(JsonObject anthropicResponse, string model, long created)
    {
        ArgumentNullException.ThrowIfNull(anthropicResponse);
        ArgumentNullException.ThrowIfNull(model);

        var text = new StringBuilder();
        var hasText = false;
        var toolCalls = new JsonArray();
        if (anthropicResponse["content"] is JsonArray blocks)
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
                        hasText = true;
                        text.Append(JsonNodes.GetString(block, "text"));
                        break;
                    case "tool_use":
                        toolCalls.Add((JsonNode?)new JsonObject
                        {
                            ["id"] = JsonNodes.GetString(block, "id") ?? "",
                            ["type"] = "function",
                            ["function"] = new JsonObject
                            {
                                ["name"] = JsonNodes.GetString(block, "name") ?? "",
                                ["arguments"] = block["input"] is JsonObject input ? JsonNodes.ToCompactJson(input) : "{}",
                            },
                        });
                        break;
                    default:
                        // thinking, redacted_thinking and server-tool blocks have no Chat Completions equivalent.
                        break;
                }
            }
        }

        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = hasText || toolCalls.Count == 0 ? text.ToString() : null,
            ["refusal"] = null,
        };
        if (toolCalls.Count > 0)
        {
            message["tool_calls"] = toolCalls;
        }

        var usage = anthropicResponse["usage"] as JsonObject;
        var cacheRead = JsonNodes.GetLongOrZero(usage, "cache_read_input_tokens");
        var prompt = JsonNodes.GetLongOrZero(usage, "input_tokens") + cacheRead
            + JsonNodes.GetLongOrZero(usage, "cache_creation_input_tokens");
        var completion = JsonNodes.GetLongOrZero(usage, "output_tokens");

        return new JsonObject
        {
            ["id"] = "chatcmpl-" + (JsonNodes.GetString(anthropicResponse, "id") ?? ""),
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(
                new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = message,
                    ["logprobs"] = null,
                    ["finish_reason"] = FinishReasonFor(JsonNodes.GetString(anthropicResponse, "stop_reason")),
                }),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = prompt,
                ["completion_tokens"] = completion,
                ["total_tokens"] = prompt + completion,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cacheRead },
            },
        };
    }

    internal static string FinishReasonFor(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything newer: the turn ended normally from OpenAI's view.
        _ => "stop",
    };

    private static bool TryAppendResponseFormat(JsonNode? responseFormat, StringBuilder system, out TranslationError error)
    {
        error = default;
        if (JsonNodes.IsNull(responseFormat))
        {
            return true;
        }

        if (responseFormat is not JsonObject format || !JsonNodes.TryGetString(format["type"], out var type))
        {
            error = new TranslationError("response_format must be an object with a string type", "response_format");
            return false;
        }

        string instruction;
        switch (type)
        {
            case "text":
                return true;
            case "json_object":
                instruction = JsonOnlyInstruction;
                break;
            case "json_schema":
                instruction = format["json_schema"] is JsonObject js && js["schema"] is JsonObject schema
                    ? JsonOnlyInstruction + " The object must conform to this JSON Schema:\n" + JsonNodes.ToCompactJson(schema)
                    : JsonOnlyInstruction;
                break;
            default:
                error = new TranslationError("unsupported response_format type '" + type + "'", "response_format.type");
                return false;
        }

        if (system.Length > 0)
        {
            system.Append("\n\n");
        }

        system.Append(instruction);
        return true;
    }
}
