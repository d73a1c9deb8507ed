using System.Text;
using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>A tool call answer: the chosen tool and arguments that fill every required property of its JSON schema.</summary>
internal sealed class ToolCallPlan
{
    private const int FragmentWidth = 4;

    private ToolCallPlan(string name, string arguments)
    {
        Name = name;
        Arguments = arguments;
        Tokens = Math.Max(1, TokenCounter.Count(arguments));
    }

    public string Name { get; }

    /// <summary>A JSON object, as text.</summary>
    public string Arguments { get; }

    public int Tokens { get; }

    /// <summary>Number of streamed argument fragments when each carries <paramref name="tokensPerChunk"/> tokens of 4 chars.</summary>
    public int FragmentCount(int tokensPerChunk)
    {
        int width = FragmentWidth * tokensPerChunk;
        return (Arguments.Length + width - 1) / width;
    }

    public ReadOnlySpan<char> Fragment(int index, int tokensPerChunk)
    {
        int width = FragmentWidth * tokensPerChunk;
        int start = index * width;
        int end = Math.Min(start + width, Arguments.Length);
        // Never split a surrogate pair across two fragments: each must be valid UTF-16 on its own.
        if (start > 0 && char.IsLowSurrogate(Arguments[start]))
        {
            start++;
        }

        if (end < Arguments.Length && char.IsHighSurrogate(Arguments[end - 1]))
        {
            end++;
        }

        return start >= end ? [] : Arguments.AsSpan(start, end - start);
    }

    public static ToolCallPlan Create(string name, JsonElement schema)
    {
        using var buffer = new PooledBufferWriter(256);
        Utf8JsonWriter w = JsonWriterCache.Rent(buffer);
        w.WriteStartObject();
        if (schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("required", out JsonElement required)
            && required.ValueKind == JsonValueKind.Array)
        {
            schema.TryGetProperty("properties", out JsonElement properties);
            foreach (JsonElement item in required.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    continue;
                }

                string property = item.GetString()!;
                w.WritePropertyName(property);
                JsonElement propertySchema = default;
                if (properties.ValueKind == JsonValueKind.Object)
                {
                    properties.TryGetProperty(property, out propertySchema);
                }

                WriteSample(w, propertySchema);
            }
        }

        w.WriteEndObject();
        JsonWriterCache.Return(w);
        return new ToolCallPlan(name, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WriteSample(Utf8JsonWriter w, JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            w.WriteStringValue("x");
            return;
        }

        // An enum only admits its listed values, so the first one is the only safe sample.
        if (schema.TryGetProperty("enum", out JsonElement values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[0].WriteTo(w);
            return;
        }

        switch (SchemaType(schema))
        {
            case "number" or "integer":
                w.WriteNumberValue(1);
                break;
            case "boolean":
                w.WriteBooleanValue(true);
                break;
            case "array":
                w.WriteStartArray();
                w.WriteEndArray();
                break;
            case "object":
                w.WriteStartObject();
                w.WriteEndObject();
                break;
            default:
                w.WriteStringValue("x");
                break;
        }
    }

    private static string? SchemaType(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out JsonElement type))
        {
            return null;
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            return type.GetString();
        }

        if (type.ValueKind == JsonValueKind.Array)
        {
            // ["string", "null"]: any non-null member is a valid choice.
            foreach (JsonElement t in type.EnumerateArray())
            {
                if (t.ValueKind == JsonValueKind.String && !t.ValueEquals("null"))
                {
                    return t.GetString();
                }
            }
        }

        return null;
    }
}
