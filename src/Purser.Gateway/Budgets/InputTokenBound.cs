using System.Text.Json.Nodes;

namespace Purser.Gateway.Budgets;

/// <summary>
/// An upper bound on a request's input tokens, computed before the call so the worst case can be held. Text: every
/// token a tokeniser emits covers at least one UTF-8 byte, and the request body holds every byte of the prompt (plus
/// JSON syntax, which only adds), so the body's byte count bounds the text tokens; a margin covers the few tokens a
/// provider adds per message and a translation's added instruction. Images are priced by their pixels, not their
/// bytes (a URL is short), so each image part adds a fixed bound above the largest any provider charges per image.
/// </summary>
internal static class InputTokenBound
{
    /// <summary>Above OpenAI's largest high-detail tile count and Anthropic's ~1,600-token image ceiling.</summary>
    public const int TokensPerImage = 3000;

    public const int Margin = 256;

    public static long Of(JsonObject request, int bodyBytes)
    {
        long images = 0;
        if (request["messages"] is JsonArray messages)
        {
            foreach (var message in messages)
            {
                if (message is JsonObject { } m && m["content"] is JsonArray parts)
                {
                    images += CountImages(parts);
                }
            }
        }

        return Of(images, bodyBytes);
    }

    /// <summary>The bound from image parts already counted (by <see cref="Proxy.ChatRequestScan"/>).</summary>
    public static long Of(long images, int bodyBytes) => bodyBytes + Margin + (images * TokensPerImage);

    private static long CountImages(JsonArray parts)
    {
        long count = 0;
        foreach (var part in parts)
        {
            if (part is not JsonObject p)
            {
                continue;
            }

            var type = p["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            if (type is "image_url" or "image")
            {
                count++;
            }
            else if (type == "tool_result" && p["content"] is JsonArray nested)
            {
                count += CountImages(nested);
            }
        }

        return count;
    }
}
