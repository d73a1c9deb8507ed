using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Proxy;

/// <summary>Reads a caller's JSON body within the size limit and parses it, turning every bad input into a value.</summary>
internal static class RequestBody
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public readonly record struct Parsed(JsonObject Json, int ByteCount);

    public static async ValueTask<(Parsed Body, GatewayError? Error)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > maxBytes)
        {
            return (default, TooLarge(maxBytes));
        }

        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (default, new GatewayError(GatewayErrorCode.UnsupportedMediaType, "The request body must be JSON (Content-Type: application/json)."));
        }

        using var buffer = new PooledBufferWriter(request.ContentLength is > 0 and < 1 << 20 ? (int)request.ContentLength.Value : 16 * 1024);
        var body = request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(8192);
            int read;
            try
            {
                read = await body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException)
            {
                return (default, TooLarge(maxBytes));
            }

            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                return (default, TooLarge(maxBytes));
            }
        }

        if (buffer.WrittenCount == 0)
        {
            return (default, new GatewayError(GatewayErrorCode.InvalidJson, "The request body is empty; a JSON object is required."));
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.WrittenSpan, NodeOptions, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return (default, new GatewayError(GatewayErrorCode.InvalidJson, $"The request body is not valid JSON: {ex.Message}"));
        }

        if (node is not JsonObject json)
        {
            return (default, new GatewayError(GatewayErrorCode.InvalidJson, "The request body must be a JSON object."));
        }

        return (new Parsed(json, buffer.WrittenCount), null);
    }

    private static GatewayError TooLarge(long maxBytes) =>
        new(GatewayErrorCode.BodyTooLarge, $"The request body is larger than the gateway's limit of {maxBytes} bytes.");
}
