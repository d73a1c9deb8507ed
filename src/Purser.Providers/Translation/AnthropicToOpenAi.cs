using System.Text;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Lets a caller speaking Anthropic Messages reach an OpenAI Chat Completions model: the request goes
/// Anthropic → OpenAI, the non-streaming response comes back OpenAI → Anthropic.
/// </summary>
public static class AnthropicToOpenAi
{
    /// <summary>
    /// Translates an Anthropic Messages request into an OpenAI chat request for <paramref name="upstreamModel"/>.
    /// Returns false with a 400-worthy <paramref name="error"/> when the request cannot be expressed for OpenAI.
    /// </summary>
    public static bool TryTranslateRequest(
        JsonObject anthropicRequest,
        string upstreamModel,
        out JsonObject openAiRequest,
        out TranslationError error)
    {
        ArgumentNullException.ThrowIfNull(anthropicRequest);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        openAiRequest = [];
        error = default;

        if (anthropicRequest["messages"] is not JsonArray messages)
        {
            error = new TranslationError("messages must be an array", "messages");
            return false;
        }

        if (!JsonNodes.TryGetLong(anthropicRequest["max_tokens"], out var maxTokens) || maxTokens < 1)
        {
            error = new TranslationError("max_tokens must be a positive integer", "max_tokens");
            return false;
        }

        var outMessages = new JsonArray();
        if (!AnthropicToOpenAiMessages.TryTranslateSystem(anthropicRequest["system"], outMessages, out error)
            || !AnthropicToOpenAiMessages.TryTranslate(messages, outMessages, out error))
        {
            return false;
        }

        var result = new JsonObject
        {
            ["model"] = upstreamModel,
            ["messages"] = outMessages,
            ["max_tokens"] = maxTokens,
        };

        if (!SamplingTranslation.TryAnthropicToOpenAi(anthropicRequest, result, out error)
            || !ToolTranslation.TryAnthropicToOpenAi(anthropicRequest, result, out error))
        {
            return false;
        }

        openAiRequest = result;
        return true;
    }

    /// <summary>
    /// Translates an OpenAI chat.completion into an Anthropic Messages response (choice 0 only).
    /// <paramref name="model"/> is the alias the caller asked for. Missing fields degrade to defaults.
    /// </summary>
    public static JsonObject TranslateResponse(JsonObject openAiResponse, string model)
    {
        ArgumentNullException.ThrowIfNull(openAiResponse);
        ArgumentNullException.ThrowIfNull(model);

        var choice = openAiResponse["choices"] is JsonArray { Count: > 0 } choices ? choices[0] as JsonObject : null;
        var message = choice?["message"] as JsonObject;
        var content = new JsonArray();
        var refused = false;
        if (message is not null)
        {
            if (JsonNodes.TryGetString(message["content"], out var text) && text.Length > 0)
            {
                content.Add((JsonNode?)new JsonObject { ["type"] = "text", ["text"] = text });
            }
            else if (JsonNodes.TryGetString(message["refusal"], out var refusal) && refusal.Length > 0)
            {
                // A refusal is what the model said instead of content; keep it visible to the caller.
                refused = true;
                content.Add((JsonNode?)new JsonObject { ["type"] = "text", ["text"] = refusal });
            }

            if (message["tool_calls"] is JsonArray toolCalls)
            {
                foreach (var node in toolCalls)
                {
                    if (node is not JsonObject call)
                    {
                        continue;
                    }

                    var function = call["function"] as JsonObject;
                    var input = function is not null
                        && JsonNodes.TryGetString(function["arguments"], out var args)
                        && JsonNodes.TryParse(args, out var parsed)
                        && parsed is JsonObject obj
                            ? obj
                            : [];
                    content.Add((JsonNode?)new JsonObject
                    {
                        ["type"] = "tool_use",
                        ["id"] = JsonNodes.GetString(call, "id") ?? "",
                        ["name"] = function is null ? "" : JsonNodes.GetString(function, "name") ?? "",
                        ["input"] = input,
                    });
                }
            }
        }

        var finishReason = choice is null ? null : JsonNodes.GetString(choice, "finish_reason");
        var stopReason = refused && finishReason is null or "stop" ? "refusal" : StopReasonFor(finishReason);

        var usage = openAiResponse["usage"] as JsonObject;
        var prompt = JsonNodes.GetLongOrZero(usage, "prompt_tokens");
        var cached = JsonNodes.GetLongOrZero(usage?["prompt_tokens_details"] as JsonObject, "cached_tokens");

        return new JsonObject
        {
            ["id"] = "msg_" + (JsonNodes.GetString(openAiResponse, "id") ?? ""),
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = model,
            ["content"] = content,
            ["stop_reason"] = stopReason,
            ["stop_sequence"] = null,
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = Math.Max(0, prompt - cached),
                ["cache_creation_input_tokens"] = 0,
                ["cache_read_input_tokens"] = cached,
                ["output_tokens"] = JsonNodes.GetLongOrZero(usage, "completion_tokens"),
            },
        };
    }

    internal static string StopReasonFor(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };
}
