using System.Text.Json;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Anthropic;

/// <summary>The fields of an Anthropic Messages request the simulator acts on, validated in one pass.</summary>
internal sealed class MessagesRequest
{
    private readonly RequestTools tools = new(ToolShape.AnthropicTool);

    private MessagesRequest(string model)
    {
        Model = model;
    }

    public string Model { get; }

    public bool Stream { get; private set; }

    public int MaxTokens { get; private set; }

    public string[]? StopSequences { get; private set; }

    public int InputTokens { get; private set; }

    public bool LastIsToolResult { get; private set; }

    /// <summary>The longest cache lifetime a <c>cache_control</c> asks for: null, "5m" or "1h".</summary>
    public string? CacheTtl { get; private set; }

    /// <summary>The <c>max_uses</c> of a web search server tool; null when there is none (or no limit).</summary>
    public int? WebSearchMaxUses { get; private set; }

    /// <summary>Whether the request has a web search server tool.</summary>
    public bool HasWebSearch { get; private set; }

    /// <summary>
    /// Reads a Messages request; <paramref name="countOnly"/> reads a <c>/v1/messages/count_tokens</c> body, which is
    /// the same shape without <c>max_tokens</c>.
    /// </summary>
    public static bool TryRead(JsonElement root, out MessagesRequest request, out string error, bool countOnly = false)
    {
        request = null!;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The request body must be a JSON object.";
            return false;
        }

        if (!RequestFields.TryGetRequiredString(root, "model", out string model, out error))
        {
            error = "model: " + error;
            return false;
        }

        var r = new MessagesRequest(model);
        if (!RequestFields.TryGetOptionalInt(root, "max_tokens", 1, int.MaxValue, out int? maxTokens, out error))
        {
            error = "max_tokens: " + error;
            return false;
        }

        if (maxTokens is null && !countOnly)
        {
            error = "max_tokens: Field required";
            return false;
        }

        r.MaxTokens = maxTokens ?? 0;
        if (!r.TryReadMessages(root, out error)
            || !r.TryReadSystem(root, out error)
            || !r.TryReadTools(root, out error))
        {
            return false;
        }

        if (!RequestFields.TryGetOptionalBool(root, "stream", out bool stream, out error))
        {
            error = "stream: " + error;
            return false;
        }

        r.Stream = stream;
        if (!RequestFields.TryGetStops(root, "stop_sequences", allowSingleString: false, out string[]? stops, out error))
        {
            error = "stop_sequences: " + error;
            return false;
        }

        r.StopSequences = stops;
        r.InputTokens += TokenCounter.PerRequest + r.tools.ListTokens;
        request = r;
        return true;
    }

    /// <summary>The tool to call, when the answer must be a tool_use block rather than text.</summary>
    public bool TryChooseTool(out string name, out JsonElement inputSchema) => tools.TryChoose(LastIsToolResult, out name, out inputSchema);

    private bool TryReadMessages(JsonElement root, out string error)
    {
        if (!root.TryGetProperty("messages", out JsonElement messages))
        {
            error = "messages: Field required";
            return false;
        }

        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            error = "messages: expected a non-empty array of messages";
            return false;
        }

        int index = 0;
        foreach (JsonElement message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("role", out JsonElement role)
                || role.ValueKind != JsonValueKind.String
                || !message.TryGetProperty("content", out JsonElement content)
                || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                error = $"messages.{index}: expected an object with a string 'role' and string or array 'content'";
                return false;
            }

            // Anthropic takes system prompts only in the top-level field, and says so.
            if (role.ValueEquals("system"))
            {
                error = "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.";
                return false;
            }

            if (!role.ValueEquals("user") && !role.ValueEquals("assistant"))
            {
                error = $"messages.{index}.role: Input should be 'user' or 'assistant'";
                return false;
            }

            long bytes = 0;
            bool allToolResults = content.ValueKind == JsonValueKind.Array && content.GetArrayLength() > 0;
            if (content.ValueKind == JsonValueKind.String)
            {
                bytes = JsonText.Utf8Length(content);
            }
            else
            {
                foreach (JsonElement block in content.EnumerateArray())
                {
                    if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
                    {
                        error = $"messages.{index}.content: each block must be an object with a string 'type'";
                        return false;
                    }

                    bool isToolResult = type.ValueEquals("tool_result");
                    allToolResults &= isToolResult;
                    bytes += BlockBytes(block, type, isToolResult);
                    NoteCache(block);
                    if (type.ValueEquals("image"))
                    {
                        string? data = block.TryGetProperty("source", out JsonElement source) && source.ValueKind == JsonValueKind.Object
                            && source.TryGetProperty("data", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                        InputTokens += ImageBilling.Anthropic(data);
                    }
                    else if (type.ValueEquals("document"))
                    {
                        bytes += ReadDocument(block);
                    }
                }
            }

            InputTokens += TokenCounter.PerMessage + TokenCounter.FromBytes(bytes);
            LastIsToolResult = allToolResults && role.ValueEquals("user");
            index++;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// A <c>document</c> block: a text source is billed as its text (the returned bytes), a content source as its text
    /// and image blocks, a base64 PDF by its pages, a URL or file source (not fetched) as a fixed page count.
    /// </summary>
    private long ReadDocument(JsonElement block)
    {
        if (!block.TryGetProperty("source", out JsonElement source) || source.ValueKind != JsonValueKind.Object
            || !source.TryGetProperty("type", out JsonElement kind))
        {
            return 0;
        }

        if (kind.ValueEquals("text"))
        {
            return source.TryGetProperty("data", out JsonElement text) && text.ValueKind == JsonValueKind.String ? JsonText.Utf8Length(text) : 0;
        }

        if (kind.ValueEquals("content"))
        {
            long bytes = 0;
            if (source.TryGetProperty("content", out JsonElement blocks) && blocks.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement inner in blocks.EnumerateArray())
                {
                    if (inner.ValueKind != JsonValueKind.Object || !inner.TryGetProperty("type", out JsonElement innerType))
                    {
                        continue;
                    }

                    if (innerType.ValueEquals("image"))
                    {
                        string? image = inner.TryGetProperty("source", out JsonElement s) && s.ValueKind == JsonValueKind.Object
                            && s.TryGetProperty("data", out JsonElement d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                        InputTokens += ImageBilling.Anthropic(image);
                    }
                    else if (inner.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String)
                    {
                        bytes += JsonText.Utf8Length(t);
                    }
                }
            }

            return bytes;
        }

        string? data = kind.ValueEquals("base64") && source.TryGetProperty("data", out JsonElement b64) && b64.ValueKind == JsonValueKind.String ? b64.GetString() : null;
        InputTokens = (int)Math.Min(int.MaxValue, InputTokens + DocumentBilling.Pdf(data));
        return 0;
    }

    private void NoteCache(JsonElement block)
    {
        if (block.ValueKind == JsonValueKind.Object && block.TryGetProperty("cache_control", out JsonElement control) && control.ValueKind == JsonValueKind.Object)
        {
            bool oneHour = control.TryGetProperty("ttl", out JsonElement ttl) && ttl.ValueEquals("1h");
            CacheTtl = oneHour || CacheTtl == "1h" ? "1h" : "5m";
        }
    }

    private static long BlockBytes(JsonElement block, JsonElement type, bool isToolResult)
    {
        if (isToolResult)
        {
            return block.TryGetProperty("content", out JsonElement result) ? RequestFields.TextBytes(result) : 0;
        }

        if (type.ValueEquals("tool_use"))
        {
            long bytes = 0;
            if (block.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String)
            {
                bytes += JsonText.Utf8Length(name);
            }

            if (block.TryGetProperty("input", out JsonElement input))
            {
                bytes += JsonText.RawLength(input);
            }

            return bytes;
        }

        return block.TryGetProperty("text", out JsonElement text) && text.ValueKind == JsonValueKind.String ? JsonText.Utf8Length(text) : 0;
    }

    private bool TryReadSystem(JsonElement root, out string error)
    {
        error = string.Empty;
        if (!root.TryGetProperty("system", out JsonElement system) || system.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (system.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            error = "system: expected a string or an array of text blocks";
            return false;
        }

        InputTokens += TokenCounter.PerSystem + TokenCounter.FromBytes(RequestFields.TextBytes(system));
        if (system.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement block in system.EnumerateArray())
            {
                NoteCache(block);
            }
        }

        return true;
    }

    private bool TryReadTools(JsonElement root, out string error)
    {
        if (!tools.TryRead(root, "tools: expected an array", CheckTool, out JsonElement choice, out error))
        {
            return false;
        }

        if (tools.List.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement tool in tools.List.EnumerateArray())
            {
                NoteCache(tool);
                if (tool.TryGetProperty("type", out JsonElement toolType) && toolType.ValueKind == JsonValueKind.String
                    && toolType.GetString()!.StartsWith("web_search_", StringComparison.Ordinal))
                {
                    HasWebSearch = true;
                    WebSearchMaxUses = tool.TryGetProperty("max_uses", out JsonElement maxUses) && maxUses.TryGetInt32(out int uses) ? uses : null;
                }
            }
        }

        if (choice.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("type", out JsonElement type) || type.ValueKind != JsonValueKind.String)
        {
            error = "tool_choice: expected an object with a string 'type'";
            return false;
        }

        if (type.ValueEquals("none"))
        {
            tools.ChooseNone();
            return true;
        }

        if (type.ValueEquals("auto") || type.ValueEquals("any"))
        {
            return true;
        }

        if (type.ValueEquals("tool") && choice.TryGetProperty("name", out JsonElement chosen) && chosen.ValueKind == JsonValueKind.String)
        {
            if (!tools.TryChooseNamed(chosen.GetString(), LastIsToolResult))
            {
                error = $"tool_choice: no tool named '{tools.ChosenName}' in tools";
                return false;
            }

            return true;
        }

        error = "tool_choice: expected type auto, any, none, or tool with a name";
        return false;
    }

    private static string? CheckTool(JsonElement tool, int index) =>
        tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String
            ? $"tools.{index}: expected an object with a string 'name'"
            : null;
}
