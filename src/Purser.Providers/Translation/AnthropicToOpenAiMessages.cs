using System.Text;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Anthropic Messages turns → OpenAI chat messages: the system prompt, user blocks (text, images, documents, tool
/// results as tool messages), assistant text and tool uses as tool calls.
/// </summary>
internal static class AnthropicToOpenAiMessages
{
    public static bool TryTranslateSystem(JsonNode? system, JsonArray outMessages, out TranslationError error)
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
            outMessages.Add((JsonNode?)new JsonObject { ["role"] = "system", ["content"] = text });
        }

        return true;
    }

    public static bool TryTranslate(JsonArray messages, JsonArray outMessages, out TranslationError error)
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

                outMessages.Add((JsonNode?)new JsonObject { ["role"] = "system", ["content"] = systemText });
                continue;
            }

            if (role is not ("user" or "assistant"))
            {
                error = new TranslationError("message role must be user, assistant or system", path + ".role");
                return false;
            }

            if (JsonNodes.TryGetString(content, out var s))
            {
                outMessages.Add((JsonNode?)new JsonObject { ["role"] = role, ["content"] = s });
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

                    parts.Add((JsonNode?)new JsonObject { ["type"] = "text", ["text"] = text });
                    break;
                case "image":
                    if (!TryTranslateImage(block, blockPath, out var image, out error))
                    {
                        return false;
                    }

                    parts.Add((JsonNode?)image);
                    break;
                case "document":
                    if (!TryTranslateDocument(block, blockPath, out var document, out error))
                    {
                        return false;
                    }

                    parts.Add((JsonNode?)document);
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
        outMessages.Add((JsonNode?)new JsonObject { ["role"] = "user", ["content"] = content });
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

                        userParts.Add((JsonNode?)image);
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

        outMessages.Add((JsonNode?)new JsonObject { ["role"] = "tool", ["tool_call_id"] = toolUseId, ["content"] = text });
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

                    toolCalls.Add((JsonNode?)new JsonObject
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

        outMessages.Add((JsonNode?)message);
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
