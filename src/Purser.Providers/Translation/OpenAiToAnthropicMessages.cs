using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// OpenAI chat messages → Anthropic Messages turns: system and developer text gathered into the system prompt, user
/// parts (text, images, files), assistant text and tool calls, tool results merged into the following user turn.
/// </summary>
internal static class OpenAiToAnthropicMessages
{
    public static bool TryTranslate(JsonArray messages, StringBuilder system, JsonArray outMessages, out TranslationError error)
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
            outMessages.Add((JsonNode?)new JsonObject { ["role"] = targetRole, ["content"] = blocks });
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

                    blocks.Add((JsonNode?)image);
                    break;
                case "file":
                    if (!TryTranslateFile(part, partPath, out var document, out error))
                    {
                        return false;
                    }

                    blocks.Add((JsonNode?)document);
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

        blocks.Add((JsonNode?)block);
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

            blocks.Add((JsonNode?)new JsonObject { ["type"] = "tool_use", ["id"] = id, ["name"] = name, ["input"] = input });
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

        blocks.Add((JsonNode?)block);
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
}
