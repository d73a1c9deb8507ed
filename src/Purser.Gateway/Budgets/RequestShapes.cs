using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Errors;
using Purser.Gateway.Proxy;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Builds the <see cref="RequestShape"/> of a parsed chat request, in either wire format: every content part is
/// classified by what the provider bills for it (text by its bytes, images by formula, documents, files and audio by
/// the context window), every tool by who runs it, and the fields that multiply or reprice the call (<c>n</c>,
/// <c>service_tier</c>, cache writes) are read. The fast path builds the same shape from its scan
/// (<see cref="ChatRequestScan.Shape"/>), which admits only requests whose shape it can read exactly.
/// </summary>
internal static class RequestShapes
{
    /// <summary>The shape of <paramref name="request"/>; an error for a field the bound depends on that is malformed.</summary>
    public static GatewayError? Read(JsonObject request, ApiFormat format, int bodyBytes, out RequestShape shape)
    {
        shape = RequestShape.Text(bodyBytes);
        if (request["n"] is { } nNode && nNode.GetValueKind() != JsonValueKind.Null)
        {
            if (format == ApiFormat.Anthropic)
            {
                // Anthropic has no n; the provider rejects the field, and nothing is billed for it.
            }
            else if (nNode is not JsonValue nValue || !nValue.TryGetValue<int>(out var n) || n < 1 || n > 128)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, "'n' must be an integer from 1 to 128.", "n");
            }
            else
            {
                shape.Choices = n;
            }
        }

        if (request["service_tier"] is JsonValue tierValue && tierValue.TryGetValue<string>(out var tierName))
        {
            if (ServiceTiers.Parse(tierName) is not { } tier)
            {
                return new GatewayError(GatewayErrorCode.InvalidRequest, $"'service_tier' '{tierName}' is not a tier the gateway can price (default, auto, flex, priority).", "service_tier");
            }

            shape.Tier = tier;
        }

        if (request["messages"] is JsonArray messages)
        {
            foreach (var message in messages)
            {
                if (message is JsonObject m)
                {
                    NoteCache(m, shape);
                    if (m["content"] is JsonArray parts)
                    {
                        ReadParts(parts, shape);
                    }
                }
            }
        }

        if (request["system"] is JsonArray systemBlocks)
        {
            ReadParts(systemBlocks, shape);
        }

        NoteCache(request, shape);
        if (request["tools"] is JsonArray tools)
        {
            foreach (var tool in tools)
            {
                if (tool is JsonObject t)
                {
                    ReadTool(t, format, shape);
                }
            }
        }

        if (request["web_search_options"] is JsonObject)
        {
            shape.Unbounded ??= "web_search_options: the provider's search fees and results are not bounded by the request";
        }

        if (request["mcp_servers"] is JsonArray { Count: > 0 })
        {
            shape.Unbounded ??= "mcp_servers: MCP tool calls run by the provider add results of any size, with no limit on their number";
        }

        if (request["container"] is { } container && container.GetValueKind() != JsonValueKind.Null)
        {
            shape.Unbounded ??= "container: code execution is billed by container time, which the request does not bound";
        }

        return null;
    }

    private static void ReadParts(JsonArray parts, RequestShape shape)
    {
        foreach (var part in parts)
        {
            if (part is not JsonObject p)
            {
                continue;
            }

            NoteCache(p, shape);
            var type = p["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            switch (type)
            {
                case "image_url":
                    ReadOpenAiImage(p, shape);
                    break;
                case "image":
                    ReadAnthropicImage(p, shape);
                    break;
                case "document":
                    // A text or content-block document is billed as the text it carries, which the body holds.
                    var sourceType = p["source"] is JsonObject source && source["type"] is JsonValue st && st.TryGetValue<string>(out var sts) ? sts : null;
                    if (sourceType is not ("text" or "content"))
                    {
                        shape.UnsizedContent++;
                    }
                    else if (p["source"] is JsonObject { } src && src["content"] is JsonArray nestedDoc)
                    {
                        ReadParts(nestedDoc, shape);
                    }

                    break;
                case "file" or "input_audio" or "container_upload" or "input_file":
                    shape.UnsizedContent++;
                    break;
                case "tool_result" or "search_result" or "web_search_tool_result" or "web_fetch_tool_result":
                    if (p["content"] is JsonArray nested)
                    {
                        ReadParts(nested, shape);
                    }

                    break;
            }
        }
    }

    private static void ReadOpenAiImage(JsonObject part, RequestShape shape)
    {
        string? url = null;
        var detail = ImageDetail.Auto;
        if (part["image_url"] is JsonObject image)
        {
            url = image["url"] is JsonValue u && u.TryGetValue<string>(out var us) ? us : null;
            if (image["detail"] is JsonValue d && d.TryGetValue<string>(out var ds))
            {
                detail = ds switch { "low" => ImageDetail.Low, "high" => ImageDetail.High, _ => ImageDetail.Auto };
            }
        }
        else if (part["image_url"] is JsonValue bare && bare.TryGetValue<string>(out var bs))
        {
            url = bs;
        }

        AddImage(url, detail, shape);
    }

    private static void ReadAnthropicImage(JsonObject part, RequestShape shape)
    {
        string? data = null;
        if (part["source"] is JsonObject source && source["type"] is JsonValue t && t.TryGetValue<string>(out var type) && type == "base64")
        {
            data = source["data"] is JsonValue d && d.TryGetValue<string>(out var ds) ? ds : null;
        }

        AddImage(data, ImageDetail.Auto, shape);
    }

    /// <summary>
    /// An image is billed by its pixels, not by its data, so its base64 characters leave the text bytes (never more
    /// than the body counted for them: a parsed string is no longer than its JSON).
    /// </summary>
    internal static void AddImage(string? data, ImageDetail detail, RequestShape shape)
    {
        var width = 0;
        var height = 0;
        if (data is not null && (data.StartsWith("data:", StringComparison.Ordinal) || !data.Contains(':', StringComparison.Ordinal)))
        {
            ImageSize.TryRead(data, out width, out height);
            shape.TextBytes = Math.Max(0, shape.TextBytes - data.Length);
        }

        shape.Images.Add(new ImageInput(width, height, detail));
    }

    private static void ReadTool(JsonObject tool, ApiFormat format, RequestShape shape)
    {
        NoteCache(tool, shape);
        var type = tool["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
        if (format == ApiFormat.OpenAI && type is "function" or "custom")
        {
            shape.Tools++;
            return;
        }

        if (format == ApiFormat.Anthropic && (type is null or "custom"))
        {
            shape.Tools++;
            return;
        }

        type ??= "(none)";
        if (type.StartsWith("bash_", StringComparison.Ordinal) || type.StartsWith("text_editor_", StringComparison.Ordinal)
            || type.StartsWith("computer_", StringComparison.Ordinal) || type.StartsWith("memory_", StringComparison.Ordinal))
        {
            // Run by the client, prompted by the provider: a hidden prompt, no server-side uses.
            shape.Tools++;
            shape.ProviderDefinedTools++;
            return;
        }

        int? maxUses = tool["max_uses"] is JsonValue m && m.TryGetValue<int>(out var uses) && uses >= 0 ? uses : null;
        if (type.StartsWith("web_search_", StringComparison.Ordinal))
        {
            shape.ServerTools.Add(new ServerToolInput(type, maxUses, ChargedPerUse: true));
        }
        else if (type.StartsWith("web_fetch_", StringComparison.Ordinal))
        {
            shape.ServerTools.Add(new ServerToolInput(type, maxUses, ChargedPerUse: false));
        }
        else
        {
            shape.Unbounded ??= $"the tool type '{type}' is run or billed by the provider in ways the gateway cannot bound";
        }

        shape.Tools++;
    }

    /// <summary>A <c>cache_control</c> on a block (or the request) makes its prompt a cache write, for one hour with <c>ttl: "1h"</c>.</summary>
    private static void NoteCache(JsonObject node, RequestShape shape)
    {
        if (node["cache_control"] is not JsonObject control)
        {
            return;
        }

        var oneHour = control["ttl"] is JsonValue ttl && ttl.TryGetValue<string>(out var t) && t == "1h";
        var kind = oneHour ? CacheWriteKind.OneHour : CacheWriteKind.FiveMinutes;
        if (kind > shape.CacheWrites)
        {
            shape.CacheWrites = kind;
        }
    }
}
