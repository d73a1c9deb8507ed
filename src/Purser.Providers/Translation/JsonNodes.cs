using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>Small, allocation-light readers over <see cref="JsonNode"/> that never throw on unexpected shapes.</summary>
internal static class JsonNodes
{
    // Tool arguments travel inside a JSON string; escaping '<' or non-ASCII there only bloats them and makes
    // them differ from what the model produced, and HTML-safety is irrelevant for an API body.
    private static readonly JsonWriterOptions CompactWriter = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static bool TryGetString(JsonNode? node, [NotNullWhen(true)] out string? value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.TryGetValue(out string? s))
        {
            value = s;
            return true;
        }

        value = null;
        return false;
    }

    public static string? GetString(JsonObject obj, string name) => TryGetString(obj[name], out var s) ? s : null;

    public static bool TryGetDouble(JsonNode? node, out double value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d))
        {
            value = d;
            return true;
        }

        value = 0;
        return false;
    }

    public static bool TryGetLong(JsonNode? node, out long value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            if (v.TryGetValue(out long l))
            {
                value = l;
                return true;
            }

            if (v.TryGetValue(out int i))
            {
                value = i;
                return true;
            }

            if (v.TryGetValue(out double d) && d == Math.Floor(d) && d is >= long.MinValue and <= long.MaxValue)
            {
                value = (long)d;
                return true;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>Missing, null or non-numeric counts read as zero: usage blocks differ between provider versions.</summary>
    public static long GetLongOrZero(JsonObject? obj, string name) =>
        obj is not null && TryGetLong(obj[name], out var l) ? l : 0;

    public static bool TryGetBool(JsonNode? node, out bool value)
    {
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            value = v.GetValueKind() == JsonValueKind.True;
            return true;
        }

        value = false;
        return false;
    }

    public static bool IsNull(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null;

    public static string ToCompactJson(JsonNode? node)
    {
        if (node is null)
        {
            return "null";
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, CompactWriter))
        {
            node.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Parses text that the caller or upstream supplied and may be garbage. JsonNode has no Try-parse, so the
    /// JsonException is caught here, at the boundary, and turned into a value.
    /// </summary>
    public static bool TryParse(string text, out JsonNode? node)
    {
        try
        {
            node = JsonNode.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            node = null;
            return false;
        }
    }

    /// <inheritdoc cref="TryParse(string, out JsonNode?)"/>
    public static bool TryParseObject(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out JsonObject? obj)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            obj = JsonNode.Parse(ref reader) as JsonObject;
            return obj is not null;
        }
        catch (JsonException)
        {
            obj = null;
            return false;
        }
    }

    /// <summary>Builds a param path such as <c>messages[3].content</c> for a <see cref="TranslationError"/>.</summary>
    public static string Path(string prefix, int index, string suffix) =>
        string.Concat(prefix, index.ToString(CultureInfo.InvariantCulture), suffix);
}
