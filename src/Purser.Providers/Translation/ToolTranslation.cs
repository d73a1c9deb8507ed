using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Tool definitions and the tool choice in both directions. The walk over <c>tools</c> is shared (absent: the choice
/// is dropped with them, since each side rejects a choice without tools; not an array or an element not an object: a
/// 400 naming it); each direction converts one tool and maps its choice.
/// </summary>
internal static class ToolTranslation
{
    private delegate bool ToolConverter(JsonObject tool, string path, out JsonObject converted, out TranslationError error);

    /// <summary>OpenAI function tools → Anthropic tools; <c>tool_choice</c> and <c>parallel_tool_calls</c> → Anthropic's choice.</summary>
    public static bool TryOpenAiToAnthropic(JsonObject request, JsonObject result, out TranslationError error)
    {
        if (!TryConvertAll(request, result, FromOpenAiTool, out var any, out error))
        {
            return false;
        }

        if (!any)
        {
            return true;
        }

        JsonObject? choice = null;
        var choiceNode = request["tool_choice"];
        if (JsonNodes.TryGetString(choiceNode, out var choiceString))
        {
            choice = choiceString switch
            {
                "auto" => new JsonObject { ["type"] = "auto" },
                "none" => new JsonObject { ["type"] = "none" },
                "required" => new JsonObject { ["type"] = "any" },
                _ => null,
            };
            if (choice is null)
            {
                error = new TranslationError("tool_choice must be auto, none, required or a function choice", "tool_choice");
                return false;
            }
        }
        else if (choiceNode is JsonObject choiceObject)
        {
            if (JsonNodes.GetString(choiceObject, "type") != "function"
                || choiceObject["function"] is not JsonObject chosen
                || !JsonNodes.TryGetString(chosen["name"], out var chosenName))
            {
                error = new TranslationError(
                    "tool_choice object must be {\"type\":\"function\",\"function\":{\"name\":...}}", "tool_choice");
                return false;
            }

            choice = new JsonObject { ["type"] = "tool", ["name"] = chosenName };
        }
        else if (!JsonNodes.IsNull(choiceNode))
        {
            error = new TranslationError("tool_choice must be a string or an object", "tool_choice");
            return false;
        }

        if (JsonNodes.TryGetBool(request["parallel_tool_calls"], out var parallel) && !parallel)
        {
            choice ??= new JsonObject { ["type"] = "auto" };
            if (JsonNodes.GetString(choice, "type") != "none")
            {
                choice["disable_parallel_tool_use"] = true;
            }
        }

        if (choice is not null)
        {
            result["tool_choice"] = choice;
        }

        return true;
    }

    /// <summary>Anthropic custom tools → OpenAI function tools; Anthropic's choice → <c>tool_choice</c> and <c>parallel_tool_calls</c>.</summary>
    public static bool TryAnthropicToOpenAi(JsonObject request, JsonObject result, out TranslationError error)
    {
        if (!TryConvertAll(request, result, FromAnthropicTool, out var any, out error))
        {
            return false;
        }

        if (!any)
        {
            return true;
        }

        var choiceNode = request["tool_choice"];
        if (JsonNodes.IsNull(choiceNode))
        {
            return true;
        }

        if (choiceNode is not JsonObject choice)
        {
            error = new TranslationError("tool_choice must be an object", "tool_choice");
            return false;
        }

        switch (JsonNodes.GetString(choice, "type"))
        {
            case "auto":
                result["tool_choice"] = "auto";
                break;
            case "any":
                result["tool_choice"] = "required";
                break;
            case "none":
                result["tool_choice"] = "none";
                break;
            case "tool":
                if (!JsonNodes.TryGetString(choice["name"], out var chosen))
                {
                    error = new TranslationError("tool_choice of type tool needs a string name", "tool_choice.name");
                    return false;
                }

                result["tool_choice"] = new JsonObject
                {
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = chosen },
                };
                break;
            default:
                error = new TranslationError("tool_choice type must be auto, any, tool or none", "tool_choice.type");
                return false;
        }

        if (JsonNodes.TryGetBool(choice["disable_parallel_tool_use"], out var disable) && disable)
        {
            result["parallel_tool_calls"] = false;
        }

        return true;
    }

    /// <summary>The schema a tool without parameters gets: an object with no properties (both sides require one).</summary>
    private static JsonObject EmptyObjectSchema() => new() { ["type"] = "object", ["properties"] = new JsonObject() };

    /// <summary>Converts every tool into <c>result["tools"]</c>; <paramref name="any"/> tells whether there was one.</summary>
    private static bool TryConvertAll(JsonObject request, JsonObject result, ToolConverter convert, out bool any, out TranslationError error)
    {
        error = default;
        any = false;
        var converted = new JsonArray();
        var toolsNode = request["tools"];
        if (JsonNodes.IsNull(toolsNode))
        {
            return true;
        }

        if (toolsNode is not JsonArray tools)
        {
            error = new TranslationError("tools must be an array", "tools");
            return false;
        }

        for (var i = 0; i < tools.Count; i++)
        {
            var path = JsonNodes.Path("tools[", i, "]");
            if (tools[i] is not JsonObject tool)
            {
                error = new TranslationError("each tool must be an object", path);
                return false;
            }

            if (!convert(tool, path, out var one, out error))
            {
                return false;
            }

            converted.Add((JsonNode?)one);
        }

        any = converted.Count > 0;
        if (any)
        {
            result["tools"] = converted;
        }

        return true;
    }

    private static bool FromOpenAiTool(JsonObject tool, string path, out JsonObject converted, out TranslationError error)
    {
        error = default;
        converted = [];
        if (JsonNodes.GetString(tool, "type") != "function")
        {
            error = new TranslationError("only function tools are supported by Anthropic-backed models", path + ".type");
            return false;
        }

        if (tool["function"] is not JsonObject function || !JsonNodes.TryGetString(function["name"], out var name))
        {
            error = new TranslationError("function tools need a string function.name", path + ".function.name");
            return false;
        }

        converted["name"] = name;
        if (JsonNodes.TryGetString(function["description"], out var description))
        {
            converted["description"] = description;
        }

        var parameters = function["parameters"];
        if (parameters is JsonObject schema)
        {
            converted["input_schema"] = schema.DeepClone();
        }
        else if (JsonNodes.IsNull(parameters))
        {
            converted["input_schema"] = EmptyObjectSchema();
        }
        else
        {
            error = new TranslationError("function.parameters must be a JSON Schema object", path + ".function.parameters");
            return false;
        }

        return true;
    }

    private static bool FromAnthropicTool(JsonObject tool, string path, out JsonObject converted, out TranslationError error)
    {
        error = default;
        converted = [];
        var type = tool["type"];
        if (!JsonNodes.IsNull(type) && !(JsonNodes.TryGetString(type, out var t) && t == "custom"))
        {
            error = new TranslationError("only custom (client) tools are supported by OpenAI-backed models", path + ".type");
            return false;
        }

        if (!JsonNodes.TryGetString(tool["name"], out var name))
        {
            error = new TranslationError("tools need a string name", path + ".name");
            return false;
        }

        var function = new JsonObject { ["name"] = name };
        if (JsonNodes.TryGetString(tool["description"], out var description))
        {
            function["description"] = description;
        }

        function["parameters"] = tool["input_schema"] is JsonObject schema ? schema.DeepClone() : EmptyObjectSchema();
        converted["type"] = "function";
        converted["function"] = function;
        return true;
    }
}
