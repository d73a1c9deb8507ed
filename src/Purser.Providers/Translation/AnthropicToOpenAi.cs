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
        if (!TryTranslateSystem(anthropicRequest["system"], outMessages, out error)
            || !TryTranslateMessages(messages, outMessages, out error))
        {
            return false;
        }

        var result = new JsonObject
        {
            ["model"] = upstreamModel,
            ["messages"] = outMessages,
            ["max_tokens"] = maxTokens,
        };

        if (!TryTranslateSampling(anthropicRequest, result, out error)
            || !TryTranslateTools(anthropicRequest, result, out error))
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
                content.Add(new JsonObject { ["type"] = "text", ["text"] = text });
            }
            else if (JsonNodes.TryGetString(message["refusal"], out var refusal) && refusal.Length > 0)
            {
                // A refusal is what the model said instead of content; keep it visible to the caller.
                refused = true;
                content.Add(new JsonObject { ["type"] = "text", ["text"] = refusal });
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
                    content.Add(new JsonObject
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

    private static bool TryTranslateSystem(JsonNode? system, JsonArray outMessages, out TranslationError error)
    {
        error = default;
        if (JsonNodes.IsNull(system))
        {
            return true;
        }

        if (!TryJoinText(system, "system", "\n\n", out var text, out error))
        {
            return false;
        }

        if (text.Length > 0)
        {
            outMessages.Add(new JsonObject { ["role"] = "system", ["content"] = text });
        }

        return true;
    }

    private static bool TryTranslateMessages(JsonArray messages, JsonArray outMessages, out TranslationError error)
    {
        error = default;
        for (var i = 0; i < messages.Count; i++)
        {
            var path = JsonNodes.Path("messages[", i, "]");
            if (messages[i] is not JsonObject message)
            {
                error = new TranslationError("each message must be an object", path);
                return false;
            }

            var role = JsonNodes.GetString(message, "role");
            var content = message["content"];
            var contentPath = path + ".content";
            if (role == "system")
            {
                // Claude Code and other agents put system entries inside messages; OpenAI takes them where they stand.
                if (!TryJoinText(content, contentPath, "\n\n", out var systemText, out error))
                {
                    return false;
                }

                outMessages.Add(new JsonObject { ["role"] = "system", ["content"] = systemText });
                continue;
            }

            if (role is not ("user" or "assistant"))
            {
                error = new TranslationError("message role must be user, assistant or system", path + ".role");
                return false;
            }

            if (JsonNodes.TryGetString(content, out var s))
            {
                outMessages.Add(new JsonObject { ["role"] = role, ["content"] = s });
                continue;
            }

            if (content is not JsonArray blocks)
            {
                error = new TranslationError("content must be a string or an array of content blocks", contentPath);
                return false;
            }

            var ok = role == "user"
                ? TryTranslateUserBlocks(blocks, contentPath, outMessages, out error)
                : TryTranslateAssistantBlocks(blocks, contentPath, outMessages, out error);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryTranslateUserBlocks(JsonArray blocks, string path, JsonArray outMessages, out TranslationError error)
    {
        error = default;
        var parts = new JsonArray();
        for (var j = 0; j < blocks.Count; j++)
        {
            var blockPath = JsonNodes.Path(path + "[", j, "]");
            if (blocks[j] is not JsonObject block || !JsonNodes.TryGetString(block["type"], out var type))
            {
                error = new TranslationError("each content block must be an object with a string type", blockPath);
                return false;
            }

            switch (type)
            {
                case "text":
                    if (!JsonNodes.TryGetString(block["text"], out var text))
                    {
                        error = new TranslationError("text blocks need a string text", blockPath + ".text");
                        return false;
                    }

                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = text });
                    break;
                case "image":
                    if (!TryTranslateImage(block, blockPath, out var image, out error))
                    {
                        return false;
                    }

                    parts.Add(image);
                    break;
                case "document":
                    if (!TryTranslateDocument(block, blockPath, out var document, out error))
                    {
                        return false;
                    }

                    parts.Add(document);
                    break;
                case "tool_result":
                    if (!TryTranslateToolResult(block, blockPath, outMessages, parts, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    error = new TranslationError(
                        "content block type '" + type + "' is not supported by OpenAI-backed models", blockPath + ".type");
                    return false;
            }
        }

        if (parts.Count == 0)
        {
            return true;
        }

        // One text block is the common case, and a plain string is what every OpenAI-compatible server accepts.
        JsonNode content = parts.Count == 1 && parts[0] is JsonObject only && JsonNodes.GetString(only, "type") == "text"
            ? JsonValue.Create(JsonNodes.GetString(only, "text") ?? "")
            : parts;
        outMessages.Add(new JsonObject { ["role"] = "user", ["content"] = content });
        return true;
    }

    // Tool messages go out as they are met, so they precede the user message built from the rest of the turn:
    // OpenAI wants every tool result directly after the assistant message that called the tools.
    private static bool TryTranslateToolResult(
        JsonObject block, string blockPath, JsonArray outMessages, JsonArray userParts, out TranslationError error)
    {
        error = default;
        if (!JsonNodes.TryGetString(block["tool_use_id"], out var toolUseId))
        {
            error = new TranslationError("tool_result blocks need a string tool_use_id", blockPath + ".tool_use_id");
            return false;
        }

        var content = block["content"];
        var text = "";
        if (JsonNodes.TryGetString(content, out var s))
        {
            text = s;
        }
        else if (content is JsonArray inner)
        {
            var sb = new StringBuilder();
            for (var k = 0; k < inner.Count; k++)
            {
                var innerPath = JsonNodes.Path(blockPath + ".content[", k, "]");
                if (inner[k] is not JsonObject innerBlock)
                {
                    error = new TranslationError("tool_result content blocks must be objects", innerPath);
                    return false;
                }

                switch (JsonNodes.GetString(innerBlock, "type"))
                {
                    case "text":
                        if (sb.Length > 0)
                        {
                            sb.Append('\n');
                        }

                        sb.Append(JsonNodes.GetString(innerBlock, "text"));
                        break;
                    case "image":
                        // OpenAI tool messages carry text only, so images ride along in the turn's user message.
                        if (!TryTranslateImage(innerBlock, innerPath, out var image, out error))
                        {
                            return false;
                        }

                        userParts.Add(image);
                        break;
                    default:
                        error = new TranslationError(
                            "tool_result content may hold only text and image blocks", innerPath + ".type");
                        return false;
                }
            }

            text = sb.ToString();
        }
        else if (!JsonNodes.IsNull(content))
        {
            error = new TranslationError("tool_result content must be a string or an array of blocks", blockPath + ".content");
            return false;
        }

        outMessages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = toolUseId, ["content"] = text });
        return true;
    }

    private static bool TryTranslateImage(JsonObject block, string blockPath, out JsonObject part, out TranslationError error)
    {
        part = [];
        error = default;
        var source = block["source"] as JsonObject;
        string? url = null;
        switch (source is null ? null : JsonNodes.GetString(source, "type"))
        {
            case "base64":
                if (JsonNodes.TryGetString(source!["media_type"], out var mediaType)
                    && JsonNodes.TryGetString(source["data"], out var data))
                {
                    url = "data:" + mediaType + ";base64," + data;
                }

                break;
            case "url":
                url = JsonNodes.GetString(source!, "url");
                break;
            default:
                break;
        }

        if (url is null)
        {
            error = new TranslationError("image source must be base64 (media_type, data) or url", blockPath + ".source");
            return false;
        }

        part = new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } };
        return true;
    }

    private static bool TryTranslateDocument(JsonObject block, string blockPath, out JsonObject part, out TranslationError error)
    {
        part = [];
        error = default;
        var source = block["source"] as JsonObject;
        var sourceType = source is null ? null : JsonNodes.GetString(source, "type");
        if (sourceType == "text" && JsonNodes.TryGetString(source!["data"], out var text))
        {
            part = new JsonObject { ["type"] = "text", ["text"] = text };
            return true;
        }

        if (sourceType == "base64"
            && JsonNodes.GetString(source!, "media_type") == "application/pdf"
            && JsonNodes.TryGetString(source!["data"], out var data))
        {
            part = new JsonObject
            {
                ["type"] = "file",
                ["file"] = new JsonObject
                {
                    ["filename"] = JsonNodes.GetString(block, "title") ?? "document.pdf",
                    ["file_data"] = "data:application/pdf;base64," + data,
                },
            };
            return true;
        }

        error = new TranslationError(
            "only base64 PDF and plain-text documents are supported by OpenAI-backed models", blockPath + ".source");
        return false;
    }

    private static bool TryTranslateAssistantBlocks(JsonArray blocks, string path, JsonArray outMessages, out TranslationError error)
    {
        error = default;
        var text = new StringBuilder();
        var hasText = false;
        var toolCalls = new JsonArray();
        for (var j = 0; j < blocks.Count; j++)
        {
            var blockPath = JsonNodes.Path(path + "[", j, "]");
            if (blocks[j] is not JsonObject block || !JsonNodes.TryGetString(block["type"], out var type))
            {
                error = new TranslationError("each content block must be an object with a string type", blockPath);
                return false;
            }

            switch (type)
            {
                case "text":
                    if (!JsonNodes.TryGetString(block["text"], out var t))
                    {
                        error = new TranslationError("text blocks need a string text", blockPath + ".text");
                        return false;
                    }

                    hasText = true;
                    text.Append(t);
                    break;
                case "tool_use":
                    if (!JsonNodes.TryGetString(block["id"], out var id) || !JsonNodes.TryGetString(block["name"], out var name))
                    {
                        error = new TranslationError("tool_use blocks need string id and name", blockPath);
                        return false;
                    }

                    toolCalls.Add(new JsonObject
                    {
                        ["id"] = id,
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = name,
                            ["arguments"] = block["input"] is JsonObject input ? JsonNodes.ToCompactJson(input) : "{}",
                        },
                    });
                    break;
                case "thinking" or "redacted_thinking":
                    // Reasoning is Anthropic-signed and meaningless to an OpenAI model.
                    break;
                default:
                    error = new TranslationError(
                        "content block type '" + type + "' is not supported by OpenAI-backed models", blockPath + ".type");
                    return false;
            }
        }

        if (!hasText && toolCalls.Count == 0)
        {
            return true;
        }

        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = hasText ? text.ToString() : null,
        };
        if (toolCalls.Count > 0)
        {
            message["tool_calls"] = toolCalls;
        }

        outMessages.Add(message);
        return true;
    }

    private static bool TryTranslateSampling(JsonObject request, JsonObject result, out TranslationError error)
    {
        error = default;
        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            var node = request[name];
            if (JsonNodes.IsNull(node))
            {
                continue;
            }

            if (!JsonNodes.TryGetDouble(node, out var value))
            {
                error = new TranslationError(name + " must be a number", name);
                return false;
            }

            result[name] = value;
        }

        var stopNode = request["stop_sequences"];
        if (!JsonNodes.IsNull(stopNode))
        {
            if (stopNode is not JsonArray stops)
            {
                error = new TranslationError("stop_sequences must be an array of strings", "stop_sequences");
                return false;
            }

            var outStops = new JsonArray();
            for (var i = 0; i < stops.Count; i++)
            {
                if (!JsonNodes.TryGetString(stops[i], out var stop))
                {
                    error = new TranslationError("stop sequences must be strings", JsonNodes.Path("stop_sequences[", i, "]"));
                    return false;
                }

                outStops.Add(stop);
            }

            if (outStops.Count > 0)
            {
                result["stop"] = outStops;
            }
        }

        var streamNode = request["stream"];
        if (!JsonNodes.IsNull(streamNode))
        {
            if (!JsonNodes.TryGetBool(streamNode, out var stream))
            {
                error = new TranslationError("stream must be a boolean", "stream");
                return false;
            }

            result["stream"] = stream;
            if (stream)
            {
                // Without this OpenAI streams carry no usage, and the gateway could not meter the call.
                result["stream_options"] = new JsonObject { ["include_usage"] = true };
            }
        }

        if (request["metadata"] is JsonObject metadata && JsonNodes.TryGetString(metadata["user_id"], out var userId))
        {
            result["user"] = userId;
        }

        return true;
    }

    private static bool TryTranslateTools(JsonObject request, JsonObject result, out TranslationError error)
    {
        error = default;
        var toolsNode = request["tools"];
        if (JsonNodes.IsNull(toolsNode))
        {
            // OpenAI rejects tool_choice / parallel_tool_calls without tools, so they are dropped with them.
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

            var type = tool["type"];
            if (!JsonNodes.IsNull(type) && !(JsonNodes.TryGetString(type, out var t) && t == "custom"))
            {
                error = new TranslationError(
                    "only custom (client) tools are supported by OpenAI-backed models", path + ".type");
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

            function["parameters"] = tool["input_schema"] is JsonObject schema
                ? schema.DeepClone()
                : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
            outTools.Add(new JsonObject { ["type"] = "function", ["function"] = function });
        }

        if (outTools.Count == 0)
        {
            return true;
        }

        result["tools"] = outTools;

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

    /// <summary>Text that must be plain: a string, or an array of text blocks joined by <paramref name="separator"/>.</summary>
    private static bool TryJoinText(JsonNode? content, string path, string separator, out string text, out TranslationError error)
    {
        error = default;
        if (JsonNodes.TryGetString(content, out var s))
        {
            text = s;
            return true;
        }

        text = "";
        if (content is not JsonArray blocks)
        {
            error = new TranslationError("must be a string or an array of text blocks", path);
            return false;
        }

        var sb = new StringBuilder();
        for (var j = 0; j < blocks.Count; j++)
        {
            if (blocks[j] is not JsonObject block
                || JsonNodes.GetString(block, "type") != "text"
                || !JsonNodes.TryGetString(block["text"], out var blockText))
            {
                error = new TranslationError("only text blocks are allowed here", JsonNodes.Path(path + "[", j, "]"));
                return false;
            }

            if (sb.Length > 0)
            {
                sb.Append(separator);
            }

            sb.Append(blockText);
        }

        text = sb.ToString();
        return true;
    }
}
