using System.Text.Json;

namespace Purser.SimulatedProvider.Common;

/// <summary>Typed reads of optional request fields; each returns false with a message when the type is wrong.</summary>
internal static class RequestFields
{
    public static bool TryGetOptionalBool(JsonElement root, string name, out bool value, out string error)
    {
        value = false;
        error = string.Empty;
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            value = e.GetBoolean();
            return true;
        }

        error = $"Invalid type for '{name}': expected a boolean.";
        return false;
    }

    public static bool TryGetOptionalInt(JsonElement root, string name, int min, int max, out int? value, out string error)
    {
        value = null;
        error = string.Empty;
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int parsed) && parsed >= min && parsed <= max)
        {
            value = parsed;
            return true;
        }

        error = $"Invalid value for '{name}': expected an integer between {min} and {max}.";
        return false;
    }

    public static bool TryGetRequiredString(JsonElement root, string name, out string value, out string error)
    {
        value = string.Empty;
        error = string.Empty;
        if (root.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String)
        {
            value = e.GetString()!;
            if (value.Length > 0)
            {
                return true;
            }
        }

        error = e.ValueKind == JsonValueKind.Undefined
            ? $"Missing required parameter: '{name}'."
            : $"Invalid type for '{name}': expected a non-empty string.";
        return false;
    }

    /// <summary>A stop list: absent/null, one string, or an array of strings.</summary>
    public static bool TryGetStops(JsonElement root, string name, bool allowSingleString, out string[]? stops, out string error)
    {
        stops = null;
        error = string.Empty;
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (allowSingleString && e.ValueKind == JsonValueKind.String)
        {
            stops = [e.GetString()!];
            return true;
        }

        if (e.ValueKind == JsonValueKind.Array)
        {
            stops = new string[e.GetArrayLength()];
            int i = 0;
            foreach (JsonElement item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    error = $"Invalid type for '{name}[{i}]': expected a string.";
                    stops = null;
                    return false;
                }

                stops[i++] = item.GetString()!;
            }

            return true;
        }

        error = $"Invalid type for '{name}': expected {(allowSingleString ? "a string or " : string.Empty)}an array of strings.";
        return false;
    }

    /// <summary>Adds the UTF-8 length of text content: a string, or an array of parts/blocks with a "text" string.</summary>
    public static long TextBytes(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return JsonText.Utf8Length(content);
        }

        long bytes = 0;
        if (content.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement part in content.EnumerateArray())
            {
                if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out JsonElement text) && text.ValueKind == JsonValueKind.String)
                {
                    bytes += JsonText.Utf8Length(text);
                }
            }
        }

        return bytes;
    }

    /// <summary>The tier a call is served at: the requested <c>service_tier</c> when priority or flex, else default.</summary>
    public static string ServiceTier(JsonElement root) =>
        root.TryGetProperty("service_tier", out JsonElement tier) && tier.ValueKind == JsonValueKind.String
            ? tier.ValueEquals("priority") ? "priority" : tier.ValueEquals("flex") ? "flex" : "default"
            : "default";
}
