using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Upstream;

/// <summary>Reads a provider's (non-streamed) body into memory, refusing past a limit while reading, and tells what it is.</summary>
internal static class UpstreamBody
{
    public static async Task<byte[]> ReadBoundedAsync(HttpContent content, int limit, CancellationToken ct)
    {
        if (content.Headers.ContentLength is { } length && length > limit)
        {
            throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
        }

        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new PooledBufferWriter(content.Headers.ContentLength is > 0 and <= 1 << 20 ? (int)content.Headers.ContentLength.Value : 16 * 1024);
            while (true)
            {
                var read = await stream.ReadAsync(buffer.GetMemory(8192), ct).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.WrittenSpan.ToArray();
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > limit)
                {
                    throw new InvalidDataException("The upstream body is larger than the gateway accepts.");
                }
            }
        }
    }

    /// <summary>True when the provider answered with an event stream (what a stream request expects).</summary>
    public static bool IsEventStream(HttpResponseMessage upstream) =>
        upstream.Content.Headers.ContentType?.MediaType is { } media && media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>The body as a JSON object, or null when it is not one.</summary>
    public static JsonObject? ParseObject(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when the body is one whole JSON object (an error body that can be relayed as it is).</summary>
    public static bool LooksLikeJsonObject(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject && reader.TrySkip();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
