using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// The sampling fields in both directions (temperature, top_p, stop sequences, stream, the end user), read with the
/// same checks: a field present with the wrong type is a 400 naming it, an absent or null one is left out.
/// </summary>
internal static class SamplingTranslation
{
    /// <summary>OpenAI → Anthropic: temperature clamped to Anthropic's [0, 1], <c>stop</c> to <c>stop_sequences</c>, <c>user</c> to metadata.</summary>
    public static bool TryOpenAiToAnthropic(JsonObject request, JsonObject result, out TranslationError error)
    {
        if (!TryNumber(request, "temperature", out var temperature, out error)
            || !TryNumber(request, "top_p", out var topP, out error)
            || !TryStrings(request["stop"], "stop", allowSingle: true, skipEmpty: true, out var stops, out error)
            || !TryBool(request, "stream", out var stream, out error))
        {
            return false;
        }

        if (temperature is { } t)
        {
            // OpenAI allows [0, 2]; Anthropic rejects anything above 1.
            result["temperature"] = Math.Clamp(t, 0d, 1d);
        }

        if (topP is { } p)
        {
            result["top_p"] = p;
        }

        if (stops.Count > 0)
        {
            result["stop_sequences"] = stops;
        }

        if (stream is { } s)
        {
            result["stream"] = s;
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

    /// <summary>Anthropic → OpenAI: <c>stop_sequences</c> to <c>stop</c>, a stream asks for usage, metadata's user to <c>user</c>.</summary>
    public static bool TryAnthropicToOpenAi(JsonObject request, JsonObject result, out TranslationError error)
    {
        if (!TryNumber(request, "temperature", out var temperature, out error)
            || !TryNumber(request, "top_p", out var topP, out error)
            || !TryStrings(request["stop_sequences"], "stop_sequences", allowSingle: false, skipEmpty: false, out var stops, out error)
            || !TryBool(request, "stream", out var stream, out error))
        {
            return false;
        }

        if (temperature is { } t)
        {
            result["temperature"] = t;
        }

        if (topP is { } p)
        {
            result["top_p"] = p;
        }

        if (stops.Count > 0)
        {
            result["stop"] = stops;
        }

        if (stream is { } s)
        {
            result["stream"] = s;
            if (s)
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

    private delegate bool Reader<T>(JsonNode? node, out T value);

    private static bool TryNumber(JsonObject request, string name, out double? value, out TranslationError error) =>
        TryField(request, name, JsonNodes.TryGetDouble, " must be a number", out value, out error);

    private static bool TryBool(JsonObject request, string name, out bool? value, out TranslationError error) =>
        TryField(request, name, JsonNodes.TryGetBool, " must be a boolean", out value, out error);

    /// <summary>An optional field: absent or null is no value; present with the wrong type is an error naming it.</summary>
    private static bool TryField<T>(JsonObject request, string name, Reader<T> read, string mustBe, out T? value, out TranslationError error)
        where T : struct
    {
        error = default;
        value = null;
        var node = request[name];
        if (JsonNodes.IsNull(node))
        {
            return true;
        }

        if (!read(node, out var parsed))
        {
            error = new TranslationError(name + mustBe, name);
            return false;
        }

        value = parsed;
        return true;
    }

    /// <summary>Stop sequences: an array of strings (or, where <paramref name="allowSingle"/>, one string).</summary>
    private static bool TryStrings(JsonNode? node, string name, bool allowSingle, bool skipEmpty, out JsonArray strings, out TranslationError error)
    {
        error = default;
        strings = [];
        if (JsonNodes.IsNull(node))
        {
            return true;
        }

        if (allowSingle && JsonNodes.TryGetString(node, out var single))
        {
            if (single.Length > 0 || !skipEmpty)
            {
                strings.Add((JsonNode?)single);
            }

            return true;
        }

        if (node is not JsonArray many)
        {
            error = new TranslationError(name + (allowSingle ? " must be a string or an array of strings" : " must be an array of strings"), name);
            return false;
        }

        for (var i = 0; i < many.Count; i++)
        {
            if (!JsonNodes.TryGetString(many[i], out var sequence))
            {
                error = new TranslationError("stop sequences must be strings", JsonNodes.Path(name + "[", i, "]"));
                return false;
            }

            if (sequence.Length > 0 || !skipEmpty)
            {
                strings.Add((JsonNode?)sequence);
            }
        }

        return true;
    }
}
