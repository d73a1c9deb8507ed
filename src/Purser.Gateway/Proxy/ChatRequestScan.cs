using System.Text.Json;
using System.Text.Unicode;
using Purser.Gateway.Wire;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Proxy;

/// <summary>
/// The fast path for a chat request whose caller and provider speak the same format: one <see cref="Utf8JsonReader"/>
/// pass over the raw body finds what the gateway needs (model, stream, max tokens, image parts) and where the top-level
/// fields lie, so the upstream body is the caller's bytes with only those fields rewritten, instead of a
/// <see cref="System.Text.Json.Nodes.JsonObject"/> parsed and serialised again.
/// <para>
/// The scan only accepts what the <see cref="System.Text.Json.Nodes.JsonObject"/> path would treat exactly the same way:
/// a valid request (no validation error to report), valid UTF-8 without escaped surrogates, no escaped or duplicate names in
/// the objects that path looks into. Anything else returns false and the request takes that path, which then produces
/// the very error (or behaviour) it always did.
/// </para>
/// <para>
/// It also admits only requests whose <see cref="RequestShape"/> it reads exactly (<see cref="Shape"/>): text parts,
/// <c>n</c>, <c>service_tier</c> and cache writes. Images, documents, files, audio and tool definitions send the request
/// to the general path, where <see cref="Budgets.RequestShapes"/> reads them.
/// </para>
/// </summary>
internal sealed class ChatRequestScan
{
    /// <summary>Above this many top-level fields the request takes the general path (no real request has so many).</summary>
    private const int MaxTopLevelFields = 64;

    private const int MaxNamesPerObject = 32;

    private readonly Field[] _fields = new Field[MaxTopLevelFields];

    private ChatRequestScan()
    {
    }

    public string Alias { get; private set; } = "";

    public bool Stream { get; private set; }

    /// <summary>The caller's max tokens (the last valid of the format's fields), null when absent or null.</summary>
    public int? MaxTokens { get; private set; }

    /// <summary>OpenAI's <c>n</c> (1 when absent).</summary>
    public int Choices { get; private set; } = 1;

    /// <summary>The requested <c>service_tier</c>.</summary>
    public ServiceTier Tier { get; private set; }

    /// <summary>Whether a <c>cache_control</c> may ask for a cache write, and of which lifetime (read from the bytes, so at worst over-held).</summary>
    public CacheWriteKind CacheWrites { get; private set; }

    public int FieldCount { get; private set; }

    public ReadOnlySpan<Field> Fields => _fields.AsSpan(0, FieldCount);

    /// <summary>Index of the top-level <c>max_tokens</c> field, or -1.</summary>
    public int MaxTokensField { get; private set; } = -1;

    /// <summary>Index of an OpenAI caller's top-level <c>max_completion_tokens</c> field, or -1 (never both: see the scan).</summary>
    public int MaxCompletionTokensField { get; private set; } = -1;

    /// <summary>Whether the top-level <c>max_tokens</c> field is JSON null.</summary>
    public bool MaxTokensIsNull { get; private set; }

    /// <summary>Index of the top-level <c>model</c> field.</summary>
    public int ModelField { get; private set; } = -1;

    /// <summary>A top-level field: its name and value as byte ranges of the body.</summary>
    public readonly record struct Field(int NameStart, int NameLength, int ValueStart, int ValueLength);

    public static bool TryScan(ReadOnlySpan<byte> body, ApiFormat format, out ChatRequestScan scan)
    {
        scan = new ChatRequestScan();
        if (!Utf8.IsValid(body))
        {
            return false;
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            return scan.ScanTop(ref reader, body, format) && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool ScanTop(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, ApiFormat format)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        var hasMessages = false;
        var hasMaxCompletionTokens = false;
        var hasStreamOptions = false;
        int? maxTokens = null;
        int? maxCompletionTokens = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped || FieldCount == MaxTopLevelFields)
            {
                return false;
            }

            var nameStart = (int)reader.TokenStartIndex + 1;
            var nameLength = reader.ValueSpan.Length;
            var name = body.Slice(nameStart, nameLength);
            foreach (var field in Fields)
            {
                if (body.Slice(field.NameStart, field.NameLength).SequenceEqual(name))
                {
                    return false;
                }
            }

            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            var index = FieldCount;
            if (name.SequenceEqual("model"u8))
            {
                if (reader.TokenType != JsonTokenType.String || !CheckString(ref reader))
                {
                    return false;
                }

                Alias = reader.GetString()!;
                if (Alias.Length == 0)
                {
                    return false;
                }

                ModelField = index;
            }
            else if (name.SequenceEqual("messages"u8))
            {
                if (reader.TokenType != JsonTokenType.StartArray || !ScanMessages(ref reader, body))
                {
                    return false;
                }

                hasMessages = true;
            }
            else if (name.SequenceEqual("stream"u8))
            {
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null))
                {
                    return false;
                }

                Stream = reader.TokenType == JsonTokenType.True;
            }
            else if (name.SequenceEqual("max_tokens"u8))
            {
                if (!TryMaxTokens(ref reader, out maxTokens))
                {
                    return false;
                }

                MaxTokensField = index;
                MaxTokensIsNull = maxTokens is null;
            }
            else if (name.SequenceEqual("n"u8) && format == ApiFormat.OpenAI)
            {
                if (reader.TokenType != JsonTokenType.Null)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var n) || n is < 1 or > 128)
                    {
                        return false;
                    }

                    Choices = n;
                }
            }
            else if (name.SequenceEqual("service_tier"u8))
            {
                if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || ServiceTiers.Parse(reader.GetString()) is not { } tier)
                {
                    return false;
                }

                Tier = tier;
            }
            else if (name.SequenceEqual("tools"u8) || name.SequenceEqual("web_search_options"u8) || name.SequenceEqual("mcp_servers"u8) || name.SequenceEqual("container"u8))
            {
                // What these cost depends on their contents, which the general path reads (RequestShapes).
                return false;
            }
            else if (name.SequenceEqual("max_completion_tokens"u8))
            {
                // Only an OpenAI caller's max_completion_tokens is the gateway's concern; for Anthropic it is any field.
                if (format == ApiFormat.OpenAI && !TryMaxTokens(ref reader, out maxCompletionTokens))
                {
                    return false;
                }

                if (format != ApiFormat.OpenAI && !Walk(ref reader))
                {
                    return false;
                }

                if (format == ApiFormat.OpenAI)
                {
                    MaxCompletionTokensField = index;
                }

                hasMaxCompletionTokens = true;
            }
            else
            {
                hasStreamOptions |= name.SequenceEqual("stream_options"u8);
                if (!Walk(ref reader))
                {
                    return false;
                }
            }

            _fields[index] = new Field(nameStart, nameLength, valueStart, (int)reader.BytesConsumed - valueStart);
            FieldCount = index + 1;
        }

        if (reader.TokenType != JsonTokenType.EndObject || ModelField < 0 || !hasMessages)
        {
            return false;
        }

        // Both token fields together, or stream_options on an OpenAI stream, are rewritten in ways only the general path
        // reproduces exactly (a rename onto an existing field, a merge into the caller's object).
        if ((hasMaxCompletionTokens && MaxTokensField >= 0) || (hasStreamOptions && Stream && format == ApiFormat.OpenAI))
        {
            return false;
        }

        MaxTokens = maxCompletionTokens ?? maxTokens;

        // A cache_control anywhere (a message, a system block, the request) may write the prompt to the cache; one
        // byte search finds it, and a mention in the text only makes the hold larger.
        if (body.IndexOf("\"cache_control\""u8) >= 0)
        {
            CacheWrites = body.IndexOf("\"1h\""u8) >= 0 ? CacheWriteKind.OneHour : CacheWriteKind.FiveMinutes;
        }

        return true;
    }

    /// <summary>The request's shape for its worst case: text of <paramref name="bodyBytes"/> bytes, with what the scan read.</summary>
    public RequestShape Shape(int bodyBytes)
    {
        var shape = RequestShape.Text(bodyBytes);
        shape.Choices = Choices;
        shape.Tier = Tier;
        shape.CacheWrites = CacheWrites;
        return shape;
    }

    private static bool TryMaxTokens(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var parsed) || parsed < 1)
        {
            return false;
        }

        value = parsed;
        return true;
    }

    /// <summary>The messages array: each message object is looked into for its content parts, as the bound does.</summary>
    private bool ScanMessages(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                if (!ScanObject(ref reader, body, ObjectKind.Message, out _))
                {
                    return false;
                }
            }
            else if (!Walk(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    private bool ScanParts(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                // An image, document, file or audio part is billed by what it holds: the general path reads it.
                if (!ScanObject(ref reader, body, ObjectKind.Part, out var type) || type is PartType.Media)
                {
                    return false;
                }
            }
            else if (!Walk(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    private enum ObjectKind
    {
        Message,
        Part,
    }

    private enum PartType
    {
        Other,
        Media,
        ToolResult,
    }

    /// <summary>
    /// A message or a content part: the general path materialises these objects (which throws on a duplicate name),
    /// so a duplicate or escaped name sends the request there. A part's nested content counts only for a tool_result.
    /// </summary>
    private bool ScanObject(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, ObjectKind kind, out PartType type)
    {
        type = PartType.Other;
        Span<int> starts = stackalloc int[MaxNamesPerObject];
        Span<int> lengths = stackalloc int[MaxNamesPerObject];
        var count = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped || count == MaxNamesPerObject)
            {
                return false;
            }

            var name = reader.ValueSpan;
            var start = (int)reader.TokenStartIndex + 1;
            for (var i = 0; i < count; i++)
            {
                if (name.SequenceEqual(body.Slice(starts[i], lengths[i])))
                {
                    return false;
                }
            }

            starts[count] = start;
            lengths[count] = name.Length;
            count++;
            var isContent = name.SequenceEqual("content"u8);
            var isType = kind == ObjectKind.Part && name.SequenceEqual("type"u8);
            reader.Read();
            if (isContent && reader.TokenType == JsonTokenType.StartArray)
            {
                // Nested parts (a tool_result's, or any part's) are held to the same rule as a message's.
                if (!ScanParts(ref reader, body))
                {
                    return false;
                }
            }
            else if (isType && reader.TokenType == JsonTokenType.String)
            {
                if (!CheckString(ref reader))
                {
                    return false;
                }

                type = reader.ValueTextEquals("image_url"u8) || reader.ValueTextEquals("image"u8) || reader.ValueTextEquals("document"u8)
                    || reader.ValueTextEquals("file"u8) || reader.ValueTextEquals("input_audio"u8) || reader.ValueTextEquals("container_upload"u8)
                    || reader.ValueTextEquals("input_file"u8) ? PartType.Media
                    : reader.ValueTextEquals("tool_result"u8) ? PartType.ToolResult
                    : PartType.Other;
            }
            else if (!Walk(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads past the current value (the reader is on its first token), checking every string in it.</summary>
    private static bool Walk(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return reader.TokenType != JsonTokenType.String || CheckString(ref reader);
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !CheckString(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// An escaped surrogate (<c>\ud83d</c>) may be a lone one, which the general path fails to write again; such bodies
    /// take that path so they fail (or pass) exactly as before.
    /// </summary>
    private static bool CheckString(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return true;
        }

        var value = reader.ValueSpan;
        for (var i = value.IndexOf("\\u"u8); i >= 0 && i + 2 < value.Length; )
        {
            if (value[i + 2] is (byte)'d' or (byte)'D')
            {
                return false;
            }

            var next = value[(i + 2)..].IndexOf("\\u"u8);
            i = next < 0 ? -1 : i + 2 + next;
        }

        return true;
    }
}
