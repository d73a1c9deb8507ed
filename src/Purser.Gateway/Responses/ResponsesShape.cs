using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Budgets;
using Purser.Gateway.Errors;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Responses;

/// <summary>
/// Validates a Responses API request (<c>POST /v1/responses</c>) in the fields the gateway relies on, and builds its
/// <see cref="RequestShape"/> — the same normalised view the chat path bounds with <see cref="WorstCases"/>: text by
/// its bytes, <c>input_image</c> parts by their pixel formula (<see cref="RequestShapes.AddImage"/>), files and
/// stored items by the context window, function tools by their framing. What only the provider's own state decides —
/// a <c>conversation</c> or <c>prompt</c> id, an <c>item_reference</c> — is bounded by the context window; a
/// <c>previous_response_id</c> is bounded by the proxy from what the gateway recorded of that response
/// (<see cref="AddConversation"/>). OpenAI's built-in tools (web search, file search, code
/// interpreter, image generation, MCP, computer use, shell) have fees and results no request field bounds: such a
/// request is refused as unbounded, as the chat path refuses <c>web_search_options</c>.
/// </summary>
internal static class ResponsesShape
{
    /// <summary>The fields of a Responses request the path acts on.</summary>
    internal readonly record struct Fields(string Alias, bool Stream, bool Background, bool Store, int? MaxOutputTokens, string? PreviousResponseId);

    public static GatewayError? Read(JsonObject request, int bodyBytes, out Fields fields, out RequestShape shape)
    {
        shape = RequestShape.Text(bodyBytes);
        fields = default;
        if (request["model"] is not JsonValue modelValue || !modelValue.TryGetValue<string>(out var alias) || alias.Length == 0)
        {
            return Invalid("'model' is required and must be a non-empty string.", "model");
        }

        fields = fields with { Alias = alias, Store = true };
        if (Flag(request, "stream", out var stream) is { } badStream)
        {
            return badStream;
        }

        if (Flag(request, "background", out var background) is { } badBackground)
        {
            return badBackground;
        }

        if (Flag(request, "store", out var store, absent: true) is { } badStore)
        {
            return badStore;
        }

        fields = fields with { Stream = stream, Background = background, Store = store };
        if (request["max_output_tokens"] is { } maxNode && maxNode.GetValueKind() != JsonValueKind.Null)
        {
            if (maxNode is not JsonValue maxValue || !maxValue.TryGetValue<int>(out var max) || max < 1)
            {
                return Invalid("'max_output_tokens' must be a positive integer.", "max_output_tokens");
            }

            fields = fields with { MaxOutputTokens = max };
        }

        if (request["previous_response_id"] is { } previousNode && previousNode.GetValueKind() != JsonValueKind.Null)
        {
            if (previousNode is not JsonValue previousValue || !previousValue.TryGetValue<string>(out var previous) || previous.Length == 0)
            {
                return Invalid("'previous_response_id' must be a non-empty string.", "previous_response_id");
            }

            fields = fields with { PreviousResponseId = previous };
        }

        if (request["instructions"] is { } instructions && instructions.GetValueKind() is not (JsonValueKind.Null or JsonValueKind.String))
        {
            return Invalid("'instructions' must be a string.", "instructions");
        }

        if (request["service_tier"] is JsonValue tierValue && tierValue.TryGetValue<string>(out var tierName))
        {
            if (ServiceTiers.Parse(tierName) is not { } tier)
            {
                return Invalid($"'service_tier' '{tierName}' is not a tier the gateway can price (default, auto, flex, priority).", "service_tier");
            }

            shape.Tier = tier;
        }

        if (request["conversation"] is { } conversation && conversation.GetValueKind() != JsonValueKind.Null)
        {
            shape.UnsizedContent++;
        }

        if (request["prompt"] is { } prompt && prompt.GetValueKind() != JsonValueKind.Null)
        {
            // A stored prompt template: its text lives at the provider.
            shape.UnsizedContent++;
        }

        if (ReadInput(request, shape) is { } badInput)
        {
            return badInput;
        }

        return ReadTools(request, shape);
    }

    /// <summary>
    /// A continued conversation is billed again as input: at most the previous response's input and output tokens,
    /// when the gateway knows them (each counts as one "byte" of text, the bound's unit of one token); else only the
    /// context window bounds it.
    /// </summary>
    public static void AddConversation(RequestShape shape, long? conversationTokens)
    {
        if (conversationTokens is { } tokens && tokens >= 0)
        {
            shape.TextBytes += tokens;
        }
        else
        {
            shape.UnsizedContent++;
        }
    }

    private static GatewayError? ReadInput(JsonObject request, RequestShape shape)
    {
        if (!request.TryGetPropertyValue("input", out var input) || input is null || input.GetValueKind() == JsonValueKind.String)
        {
            return null;
        }

        if (input is not JsonArray items)
        {
            return Invalid("'input' must be a string or an array of input items.", "input");
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not JsonObject item)
            {
                return Invalid($"'input[{i}]' must be an object.", "input");
            }

            var type = item["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "message";
            if (type == "item_reference")
            {
                shape.UnsizedContent++;
                continue;
            }

            if (type != "message" || item["content"] is not JsonArray parts)
            {
                continue;
            }

            foreach (var part in parts)
            {
                if (part is not JsonObject p)
                {
                    return Invalid($"'input[{i}].content' must be an array of content part objects.", "input");
                }

                var partType = p["type"] is JsonValue pt && pt.TryGetValue<string>(out var ps) ? ps : null;
                switch (partType)
                {
                    case "input_image":
                        if (ReadImage(p, shape) is { } badImage)
                        {
                            return badImage with { Param = "input" };
                        }

                        break;
                    case "input_file" or "input_audio":
                        shape.UnsizedContent++;
                        break;
                }
            }
        }

        return null;
    }

    private static GatewayError? ReadImage(JsonObject part, RequestShape shape)
    {
        var detail = part["detail"] is JsonValue d && d.TryGetValue<string>(out var ds)
            ? ds switch { "low" => ImageDetail.Low, "high" => ImageDetail.High, _ => ImageDetail.Auto }
            : ImageDetail.Auto;
        if (part["image_url"] is JsonValue urlValue && urlValue.TryGetValue<string>(out var url))
        {
            RequestShapes.AddImage(url, detail, shape);
            return null;
        }

        if (part["file_id"] is JsonValue fileValue && fileValue.TryGetValue<string>(out _))
        {
            // An uploaded file: its pixels are at the provider, so the image is bounded as one of unknown size.
            RequestShapes.AddImage(null, detail, shape);
            return null;
        }

        return Invalid("An 'input_image' part needs an 'image_url' string or a 'file_id'.", "input");
    }

    private static GatewayError? ReadTools(JsonObject request, RequestShape shape)
    {
        if (!request.TryGetPropertyValue("tools", out var toolsNode) || toolsNode is null)
        {
            return null;
        }

        if (toolsNode is not JsonArray tools)
        {
            return Invalid("'tools' must be an array.", "tools");
        }

        foreach (var tool in tools)
        {
            if (tool is not JsonObject t || t["type"] is not JsonValue typeValue || !typeValue.TryGetValue<string>(out var type))
            {
                return Invalid("Every entry of 'tools' must be an object with a string 'type'.", "tools");
            }

            shape.Tools++;
            if (type is "function" or "custom")
            {
                continue;
            }

            shape.Unbounded ??= $"the built-in tool '{type}' is run and billed by the provider (per call and by the results it adds), and no field of the request bounds its uses";
        }

        return null;
    }

    private static GatewayError? Flag(JsonObject request, string name, out bool value, bool absent = false)
    {
        value = absent;
        if (!request.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            return Invalid($"'{name}' must be a boolean.", name);
        }

        value = node.GetValue<bool>();
        return null;
    }

    private static GatewayError Invalid(string message, string param) => new(GatewayErrorCode.InvalidRequest, message, param);
}
