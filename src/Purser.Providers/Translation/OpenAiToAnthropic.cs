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
        if (!TryTranslateMessages(messages, system, outMessages, out error))
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

        if (!TryTranslateSampling(openAiRequest, result, out error)
            || !TryTranslateTools(openAiRequest, result, out error))
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
                        toolCalls.Add(new JsonObject
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
            ["choices"] = new JsonArray
            {
                new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = message,
                    ["logprobs"] = null,
                    ["finish_reason"] = FinishReasonFor(JsonNodes.GetString(anthropicResponse, "stop_reason")),
                },
            },
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

    private static bool TryTranslateMessages(JsonArray messages, StringBuilder system, JsonArray outMessages, out TranslationError error)
    {
        error = default;
        string? lastRole = null;
        JsonArray? lastContent = null;

        for (var i = 0; i < messages.Count; i++)
        {
            var path = JsonNodes.Path("messages[", i, "]");
            if (messages[i] is not JsonObject message)
            {
                error = new TranslationError("each message must be an object", path);
                return false;
            }

            if (!JsonNodes.TryGetString(message["role"], out var role))
            {
                error = new TranslationError("message role must be a string", path + ".role");
                return false;
            }

            string targetRole;
            var blocks = new JsonArray();
            switch (role)
            {
                case "system" or "developer":
                    if (!TryFlattenText(message["content"], path + ".content", out var text, out error))
                    {
                        return false;
                    }

                    if (text.Length > 0)
                    {
                        if (system.Length > 0)
                        {
                            system.Append("\n\n");
                        }

                        system.Append(text);
                    }

                    continue;
                case "user":
                    targetRole = "user";
                    if (!TryTranslateUserContent(message["content"], path + ".content", blocks, out error))
                    {
                        return false;
                    }

                    break;
                case "assistant":
                    targetRole = "assistant";
                    if (!TryTranslateAssistant(message, path, blocks, out error))
                    {
                        return false;
                    }

                    break;
                case "tool":
                    targetRole = "user";
                    if (!TryTranslateToolMessage(message, path, blocks, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    error = new TranslationError(
                        "unsupported message role '" + role + "' (expected system, developer, user, assistant or tool)",
                        path + ".role");
                    return false;
            }

            // A message with nothing Anthropic accepts (e.g. empty text) is dropped rather than sent empty,
            // which Anthropic rejects; merging below then keeps the roles alternating.
            if (blocks.Count == 0)
            {
                continue;
            }

            if (lastRole == targetRole && lastContent is not null)
            {
                MergeInto(lastContent, blocks);
                continue;
            }

            lastContent = blocks;
            lastRole = targetRole;
            outMessages.Add(new JsonObject { ["role"] = targetRole, ["content"] = blocks });
        }

        return true;
    }

    // Anthropic wants a turn's tool_result blocks before any other content of that user message.
    private static void MergeInto(JsonArray target, JsonArray blocks)
    {
        while (blocks.Count > 0)
        {
            var block = blocks[0];
            blocks.RemoveAt(0);
            if (IsToolResult(block))
            {
                var insertAt = 0;
                while (insertAt < target.Count && IsToolResult(target[insertAt]))
                {
                    insertAt++;
                }

                target.Insert(insertAt, block);
            }
            else
            {
                target.Add(block);
            }
        }
    }

    private static bool IsToolResult(JsonNode? block) =>
        block is JsonObject o && JsonNodes.GetString(o, "type") == "tool_result";

    private static bool TryTranslateUserContent(JsonNode? content, string path, JsonArray blocks, out TranslationError error)
    {
        error = default;
        if (JsonNodes.TryGetString(content, out var s))
        {
            AddText(blocks, s, null);
            return true;
        }

        if (content is not JsonArray parts)
        {
            error = new TranslationError("user content must be a string or an array of content parts", path);
            return false;
        }

        for (var j = 0; j < parts.Count; j++)
        {
            var partPath = JsonNodes.Path(path + "[", j, "]");
            if (parts[j] is not JsonObject part || !JsonNodes.TryGetString(part["type"], out var type))
            {
                error = new TranslationError("each content part must be an object with a string type", partPath);
                return false;
            }

            switch (type)
            {
                case "text":
                    if (!JsonNodes.TryGetString(part["text"], out var text))
                    {
                        error = new TranslationError("text part must have a string text", partPath + ".text");
                        return false;
                    }

                    AddText(blocks, text, part["cache_control"]);
                    break;
                case "image_url":
                    if (!TryTranslateImage(part, partPath, out var image, out error))
                    {
                        return false;
                    }

                    blocks.Add(image);
                    break;
                case "file":
                    if (!TryTranslateFile(part, partPath, out var document, out error))
                    {
                        return false;
                    }

                    blocks.Add(document);
                    break;
                default:
                    error = new TranslationError(
                        "content part type '" + type + "' is not supported by Anthropic-backed models", partPath + ".type");
                    return false;
            }
        }

        return true;
    }

    private static void AddText(JsonArray blocks, string text, JsonNode? cacheControl)
    {
        // Anthropic rejects empty text blocks.
        if (text.Length == 0)
        {
            return;
        }

        var block = new JsonObject { ["type"] = "text", ["text"] = text };
        if (cacheControl is JsonObject cc)
        {
            block["cache_control"] = cc.DeepClone();
        }

        blocks.Add(block);
    }

    private static bool TryTranslateImage(JsonObject part, string partPath, out JsonObject image, out TranslationError error)
    {
        image = [];
        error = default;
        var imageUrl = part["image_url"];
        var urlPath = partPath + ".image_url.url";
        // The spec says an object with url; some clients send the URL string directly.
        if (!JsonNodes.TryGetString(imageUrl is JsonObject o ? o["url"] : imageUrl, out var url))
        {
            error = new TranslationError("image_url.url must be a string", urlPath);
            return false;
        }

        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            if (!TrySplitDataUrl(url, out var mediaType, out var data))
            {
                error = new TranslationError("image data URLs must look like data:<media type>;base64,<data>", urlPath);
                return false;
            }

            image = new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = mediaType, ["data"] = data },
            };
            return true;
        }

        if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            image = new JsonObject
            {
                ["type"] = "image",
                ["source"] = new JsonObject { ["type"] = "url", ["url"] = url },
            };
            return true;
        }

        error = new TranslationError("image URLs must be http(s) or base64 data URLs", urlPath);
        return false;
    }

    private static bool TryTranslateFile(JsonObject part, string partPath, out JsonObject document, out TranslationError error)
    {
        document = [];
        error = default;
        var dataPath = partPath + ".file.file_data";
        if (part["file"] is not JsonObject file
            || !JsonNodes.TryGetString(file["file_data"], out var fileData)
            || !TrySplitDataUrl(fileData, out var mediaType, out var data))
        {
            error = new TranslationError(
                "only inline files (file_data as a base64 data URL) are supported by Anthropic-backed models", dataPath);
            return false;
        }

        if (!string.Equals(mediaType, "application/pdf", StringComparison.OrdinalIgnoreCase))
        {
            error = new TranslationError("only PDF files are supported by Anthropic-backed models", dataPath);
            return false;
        }

        document = new JsonObject
        {
            ["type"] = "document",
            ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "application/pdf", ["data"] = data },
        };
        return true;
    }

    internal static bool TrySplitDataUrl(string url, out string mediaType, out string data)
    {
        const string Marker = ";base64,";
        mediaType = "";
        data = "";
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var marker = url.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        if (marker <= "data:".Length)
        {
            return false;
        }

        mediaType = url["data:".Length..marker];
        data = url[(marker + Marker.Length)..];
        return data.Length > 0;
    }

    private static bool TryTranslateAssistant(JsonObject message, string path, JsonArray blocks, out TranslationError error)
    {
        error = default;
        var content = message["content"];
        if (JsonNodes.TryGetString(content, out var s))
        {
            AddText(blocks, s, null);
        }
        else if (content is JsonArray parts)
        {
            for (var j = 0; j < parts.Count; j++)
            {
                var partPath = JsonNodes.Path(path + ".content[", j, "]");
                if (parts[j] is not JsonObject part)
                {
                    error = new TranslationError("each content part must be an object", partPath);
                    return false;
                }

                var type = JsonNodes.GetString(part, "type");
                var textKey = type switch { "text" => "text", "refusal" => "refusal", _ => null };
                if (textKey is null || !JsonNodes.TryGetString(part[textKey], out var text))
                {
                    error = new TranslationError("assistant content parts must be text or refusal parts", partPath);
                    return false;
                }

                AddText(blocks, text, part["cache_control"]);
            }
        }
        else if (!JsonNodes.IsNull(content))
        {
            error = new TranslationError("assistant content must be a string, an array of text parts or null", path + ".content");
            return false;
        }

        var toolCallsNode = message["tool_calls"];
        if (JsonNodes.IsNull(toolCallsNode))
        {
            return true;
        }

        if (toolCallsNode is not JsonArray toolCalls)
        {
            error = new TranslationError("tool_calls must be an array", path + ".tool_calls");
            return false;
        }

        for (var j = 0; j < toolCalls.Count; j++)
        {
            var callPath = JsonNodes.Path(path + ".tool_calls[", j, "]");
            if (toolCalls[j] is not JsonObject call)
            {
                error = new TranslationError("each tool call must be an object", callPath);
                return false;
            }

            if (!JsonNodes.TryGetString(call["id"], out var id))
            {
                error = new TranslationError("tool call id must be a string", callPath + ".id");
                return false;
            }

            if (call["function"] is not JsonObject function || !JsonNodes.TryGetString(function["name"], out var name))
            {
                error = new TranslationError("tool call function.name must be a string", callPath + ".function.name");
                return false;
            }

            var argsPath = callPath + ".function.arguments";
            if (!TryParseArguments(function["arguments"], out var input))
            {
                error = new TranslationError("tool call arguments must be a JSON object encoded as a string", argsPath);
                return false;
            }

            blocks.Add(new JsonObject { ["type"] = "tool_use", ["id"] = id, ["name"] = name, ["input"] = input });
        }

        return true;
    }

    private static bool TryParseArguments(JsonNode? arguments, out JsonObject input)
    {
        input = [];
        if (!JsonNodes.TryGetString(arguments, out var text))
        {
            return false;
        }

        // Some clients send "" for a call without parameters; that means the empty object.
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (JsonNodes.TryParse(text, out var parsed) && parsed is JsonObject obj)
        {
            input = obj;
            return true;
        }

        return false;
    }

    private static bool TryTranslateToolMessage(JsonObject message, string path, JsonArray blocks, out TranslationError error)
    {
        if (!JsonNodes.TryGetString(message["tool_call_id"], out var toolCallId))
        {
            error = new TranslationError("tool messages need a string tool_call_id", path + ".tool_call_id");
            return false;
        }

        if (!TryFlattenText(message["content"], path + ".content", out var text, out error))
        {
            return false;
        }

        var block = new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = toolCallId };
        if (text.Length > 0)
        {
            block["content"] = text;
        }

        blocks.Add(block);
        return true;
    }

    /// <summary>Content that must be plain text: a string, or an array of text parts joined by newlines.</summary>
    private static bool TryFlattenText(JsonNode? content, string path, out string text, out TranslationError error)
    {
        error = default;
        if (JsonNodes.TryGetString(content, out var s))
        {
            text = s;
            return true;
        }

        text = "";
        if (content is not JsonArray parts)
        {
            error = new TranslationError("content must be a string or an array of text parts", path);
            return false;
        }

        var sb = new StringBuilder();
        for (var j = 0; j < parts.Count; j++)
        {
            if (parts[j] is not JsonObject part
                || JsonNodes.GetString(part, "type") != "text"
                || !JsonNodes.TryGetString(part["text"], out var partText))
            {
                error = new TranslationError("only text parts are allowed here", JsonNodes.Path(path + "[", j, "]"));
                return false;
            }

            if (sb.Length > 0)
            {
                sb.Append('\n');
            }

            sb.Append(partText);
        }

        text = sb.ToString();
        return true;
    }

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

    private static bool TryTranslateSampling(JsonObject request, JsonObject result, out TranslationError error)
    {
        error = default;
        var temperature = request["temperature"];
        if (!JsonNodes.IsNull(temperature))
        {
            if (!JsonNodes.TryGetDouble(temperature, out var t))
            {
                error = new TranslationError("temperature must be a number", "temperature");
                return false;
            }

            // OpenAI allows [0, 2]; Anthropic rejects anything above 1.
            result["temperature"] = Math.Clamp(t, 0d, 1d);
        }

        var topP = request["top_p"];
        if (!JsonNodes.IsNull(topP))
        {
            if (!JsonNodes.TryGetDouble(topP, out var p))
            {
                error = new TranslationError("top_p must be a number", "top_p");
                return false;
            }

            result["top_p"] = p;
        }

        if (!TryTranslateStop(request["stop"], result, out error))
        {
            return false;
        }

        var stream = request["stream"];
        if (!JsonNodes.IsNull(stream))
        {
            if (!JsonNodes.TryGetBool(stream, out var b))
            {
                error = new TranslationError("stream must be a boolean", "stream");
                return false;
            }

            result["stream"] = b;
        }

        var user = request["user"];
        if (!JsonNodes.IsNull(user))
        {
            if (!JsonNodes.TryGetString(user, out var u))
            {
                error = new TranslationError("user must be a string", "user");
                return false;
            }

            result["metadata"] = new JsonObject { ["user_id"] = u };
        }

        return true;
    }

    private static bool TryTranslateStop(JsonNode? stop, JsonObject result, out TranslationError error)
    {
        error = default;
        if (JsonNodes.IsNull(stop))
        {
            return true;
        }

        var sequences = new JsonArray();
        if (JsonNodes.TryGetString(stop, out var single))
        {
            if (single.Length > 0)
            {
                sequences.Add(single);
            }
        }
        else if (stop is JsonArray many)
        {
            for (var i = 0; i < many.Count; i++)
            {
                if (!JsonNodes.TryGetString(many[i], out var seq))
                {
                    error = new TranslationError("stop sequences must be strings", JsonNodes.Path("stop[", i, "]"));
                    return false;
                }

                if (seq.Length > 0)
                {
                    sequences.Add(seq);
                }
            }
        }
        else
        {
            error = new TranslationError("stop must be a string or an array of strings", "stop");
            return false;
        }

        if (sequences.Count > 0)
        {
            result["stop_sequences"] = sequences;
        }

        return true;
    }

    private static bool TryTranslateTools(JsonObject request, JsonObject result, out TranslationError error)
    {
        error = default;
        var toolsNode = request["tools"];
        if (JsonNodes.IsNull(toolsNode))
        {
            // tool_choice and parallel_tool_calls mean nothing without tools; Anthropic would reject them.
            return true;
        }

        if (toolsNode is not JsonArray tools)
        {
            error = new TranslationError("tools must be an array", "tools");
            return false;
        }

        var outTools = new JsonArray();
        for (var i = 0; i < tools.Count; i++)
        {
            var path = JsonNodes.Path("tools[", i, "]");
            if (tools[i] is not JsonObject tool)
            {
                error = new TranslationError("each tool must be an object", path);
                return false;
            }

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

            var outTool = new JsonObject { ["name"] = name };
            if (JsonNodes.TryGetString(function["description"], out var description))
            {
                outTool["description"] = description;
            }

            var parameters = function["parameters"];
            if (parameters is JsonObject schema)
            {
                outTool["input_schema"] = schema.DeepClone();
            }
            else if (JsonNodes.IsNull(parameters))
            {
                outTool["input_schema"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
            }
            else
            {
                error = new TranslationError("function.parameters must be a JSON Schema object", path + ".function.parameters");
                return false;
            }

            outTools.Add(outTool);
        }

        if (outTools.Count == 0)
        {
            return true;
        }

        result["tools"] = outTools;

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
}
