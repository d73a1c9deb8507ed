using System.Text;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Translates an OpenAI Responses API request into the equivalent Chat Completions request, so that a provider without
/// the Responses API (Anthropic, through <see cref="OpenAiToAnthropic"/>) can serve it: <c>instructions</c> become a
/// system message, input messages keep their roles (<c>developer</c> becomes <c>system</c>) with their text and image
/// parts, <c>function_call</c> items become the assistant's <c>tool_calls</c> and <c>function_call_output</c> items
/// <c>tool</c> messages; function tools, <c>tool_choice</c>, <c>text.format</c>, <c>temperature</c>, <c>top_p</c>
/// and <c>stream</c> carry over. What only OpenAI's Responses API can do is refused with a message saying so: a
/// <c>previous_response_id</c> or <c>conversation</c> (the stored conversation is at OpenAI), <c>background</c>,
/// <c>item_reference</c> items, uploaded files by id, and the built-in tools.
/// </summary>
public static class ResponsesToChat
{
    public static bool TryTranslateRequest(JsonObject request, out JsonObject chat, out TranslationError error)
    {
        ArgumentNullException.ThrowIfNull(request);
        chat = [];
        error = default;
        foreach (var (field, why) in Untranslatable)
        {
            if (!JsonNodes.IsNull(request[field]) && !(field == "background" && JsonNodes.TryGetBool(request[field], out var on) && !on))
            {
                error = new TranslationError($"'{field}' cannot be translated for this model's provider: {why}", field);
                return false;
            }
        }

        var messages = new JsonArray();
        if (JsonNodes.TryGetString(request["instructions"], out var instructions))
        {
            messages.Add((JsonNode?)new JsonObject { ["role"] = "system", ["content"] = instructions });
        }

        if (JsonNodes.TryGetString(request["input"], out var text))
        {
            messages.Add((JsonNode?)new JsonObject { ["role"] = "user", ["content"] = text });
        }
        else if (request["input"] is JsonArray items && !TryTranslateItems(items, messages, out error))
        {
            return false;
        }

        if (messages.Count == 0)
        {
            error = new TranslationError("'input' is required when the request does not continue a stored response.", "input");
            return false;
        }

        chat["model"] = JsonNodes.GetString(request, "model") ?? "";
        chat["messages"] = messages;
        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p", "stream", "parallel_tool_calls", "user"])
        {
            if (request[name] is { } value && !JsonNodes.IsNull(value))
            {
                chat[name] = value.DeepClone();
            }
        }

        if (request["tools"] is JsonArray tools && !TryTranslateTools(tools, chat, out error))
        {
            return false;
        }

        if (request["tool_choice"] is { } choice && !JsonNodes.IsNull(choice))
        {
            chat["tool_choice"] = choice is JsonObject named && JsonNodes.GetString(named, "name") is { } name
                ? new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } }
                : choice.DeepClone();
        }

        if (request["text"] is JsonObject textOptions && textOptions["format"] is JsonObject format)
        {
            var type = JsonNodes.GetString(format, "type");
            if (type == "json_object")
            {
                chat["response_format"] = new JsonObject { ["type"] = "json_object" };
            }
            else if (type == "json_schema")
            {
                var schema = new JsonObject { ["name"] = JsonNodes.GetString(format, "name") ?? "response" };
                if (format["schema"] is { } body)
                {
                    schema["schema"] = body.DeepClone();
                }

                chat["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = schema };
            }
        }

        return true;
    }

    private static readonly (string Field, string Why)[] Untranslatable =
    [
        ("previous_response_id", "the stored conversation lives at OpenAI's Responses API; send the whole conversation as 'input' instead"),
        ("conversation", "conversations are stored by OpenAI's Responses API; send the whole conversation as 'input' instead"),
        ("background", "background responses are an OpenAI Responses API feature"),
        ("prompt", "stored prompt templates are an OpenAI Responses API feature"),
    ];

    private static bool TryTranslateItems(JsonArray items, JsonArray messages, out TranslationError error)
    {
        error = default;
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not JsonObject item)
            {
                error = new TranslationError($"'input[{i}]' must be an object.", "input");
                return false;
            }

            var type = JsonNodes.GetString(item, "type") ?? "message";
            switch (type)
            {
                case "message":
                    if (!TryTranslateMessage(item, i, out var message, out error))
                    {
                        return false;
                    }

                    messages.Add((JsonNode?)message);
                    break;
                case "function_call":
                    var call = new JsonObject
                    {
                        ["id"] = JsonNodes.GetString(item, "call_id") ?? "",
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = JsonNodes.GetString(item, "name") ?? "",
                            ["arguments"] = JsonNodes.GetString(item, "arguments") ?? "{}",
                        },
                    };

                    // Consecutive calls are one assistant turn with several tool calls.
                    if (messages.Count > 0 && messages[^1] is JsonObject last && JsonNodes.GetString(last, "role") == "assistant" && last["tool_calls"] is JsonArray calls)
                    {
                        calls.Add((JsonNode?)call);
                    }
                    else
                    {
                        messages.Add((JsonNode?)new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) });
                    }

                    break;
                case "function_call_output":
                    messages.Add((JsonNode?)new JsonObject
                    {
                        ["role"] = "tool",
                        ["tool_call_id"] = JsonNodes.GetString(item, "call_id") ?? "",
                        ["content"] = OutputText(item["output"]),
                    });
                    break;
                case "reasoning":
                    // The provider's own reasoning of an earlier turn: another provider cannot read it.
                    break;
                default:
                    error = new TranslationError($"'input[{i}]' is a '{type}' item, which cannot be translated for this model's provider.", "input");
                    return false;
            }
        }

        return true;
    }

    private static bool TryTranslateMessage(JsonObject item, int index, out JsonObject message, out TranslationError error)
    {
        error = default;
        var role = JsonNodes.GetString(item, "role") ?? "user";
        message = new JsonObject { ["role"] = role == "developer" ? "system" : role };
        if (JsonNodes.TryGetString(item["content"], out var content))
        {
            message["content"] = content;
            return true;
        }

        if (item["content"] is not JsonArray parts)
        {
            error = new TranslationError($"'input[{index}].content' must be a string or an array of parts.", "input");
            return false;
        }

        var translated = new JsonArray();
        foreach (var node in parts)
        {
            if (node is not JsonObject part)
            {
                error = new TranslationError($"'input[{index}].content' must be an array of part objects.", "input");
                return false;
            }

            switch (JsonNodes.GetString(part, "type"))
            {
                case "input_text" or "output_text" or "text":
                    translated.Add((JsonNode?)new JsonObject { ["type"] = "text", ["text"] = JsonNodes.GetString(part, "text") ?? "" });
                    break;
                case "refusal":
                    translated.Add((JsonNode?)new JsonObject { ["type"] = "text", ["text"] = JsonNodes.GetString(part, "refusal") ?? "" });
                    break;
                case "input_image" when JsonNodes.GetString(part, "image_url") is { } url:
                    var image = new JsonObject { ["url"] = url };
                    if (JsonNodes.GetString(part, "detail") is { } detail)
                    {
                        image["detail"] = detail;
                    }

                    translated.Add((JsonNode?)new JsonObject { ["type"] = "image_url", ["image_url"] = image });
                    break;
                case "input_file" when JsonNodes.GetString(part, "file_data") is { } data:
                    var file = new JsonObject { ["file_data"] = data };
                    if (JsonNodes.GetString(part, "filename") is { } filename)
                    {
                        file["filename"] = filename;
                    }

                    translated.Add((JsonNode?)new JsonObject { ["type"] = "file", ["file"] = file });
                    break;
                default:
                    error = new TranslationError($"A '{JsonNodes.GetString(part, "type")}' part of 'input[{index}]' cannot be translated for this model's provider (uploaded files and images by id live at OpenAI).", "input");
                    return false;
            }
        }

        message["content"] = translated;
        return true;
    }

    private static bool TryTranslateTools(JsonArray tools, JsonObject chat, out TranslationError error)
    {
        error = default;
        var translated = new JsonArray();
        foreach (var node in tools)
        {
            var tool = node as JsonObject;
            var type = tool is null ? null : JsonNodes.GetString(tool, "type");
            if (tool is null || type != "function")
            {
                error = new TranslationError($"The tool type '{type}' is one of OpenAI's built-in tools, which only OpenAI's Responses API runs; this model's provider cannot.", "tools");
                return false;
            }

            var function = new JsonObject { ["name"] = JsonNodes.GetString(tool, "name") ?? "" };
            if (JsonNodes.GetString(tool, "description") is { } description)
            {
                function["description"] = description;
            }

            if (tool["parameters"] is { } parameters && !JsonNodes.IsNull(parameters))
            {
                function["parameters"] = parameters.DeepClone();
            }

            translated.Add((JsonNode?)new JsonObject { ["type"] = "function", ["function"] = function });
        }

        if (translated.Count > 0)
        {
            chat["tools"] = translated;
        }

        return true;
    }

    private static string OutputText(JsonNode? output)
    {
        if (JsonNodes.TryGetString(output, out var text))
        {
            return text;
        }

        var joined = new StringBuilder();
        if (output is JsonArray parts)
        {
            foreach (var part in parts)
            {
                if (part is JsonObject p && JsonNodes.GetString(p, "text") is { } partText)
                {
                    joined.Append(partText);
                }
            }
        }

        return joined.ToString();
    }
}
