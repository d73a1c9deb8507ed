using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Gateway.Errors;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Validation;

/// <summary>
/// Reads a caller's JSON body within the size limit, checks its bytes (<see cref="JsonBodyCheck"/>) and parses it, turning
/// every bad input into a value: the one way an endpoint that needs the body as an object reads it.
/// </summary>
internal static class RequestBody
{
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public readonly record struct Parsed(JsonObject Json, int ByteCount);

    public static async ValueTask<(Parsed Body, GatewayError? Error)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var (raw, error) = await ReadRawAsync(request, maxBytes, cancellationToken).ConfigureAwait(false);
        if (error is { } failed)
        {
            return (default, failed);
        }

        using (raw)
        {
            // Bytes, escapes and duplicate names first (one pass), then the object the endpoint reads.
            if (JsonBodyCheck.Check(raw!.WrittenSpan) is { } badBytes)
            {
                return (default, badBytes);
            }

            var (json, parseError) = Parse(raw.WrittenSpan);
            return parseError is { } bad ? (default, bad) : (new Parsed(json!, raw.WrittenCount), null);
        }
    }

    /// <summary>Reads the body within the limit into a pooled buffer the caller disposes; not parsed yet.</summary>
    public static async ValueTask<(PooledBufferWriter? Body, GatewayError? Error)> ReadRawAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, new GatewayError(GatewayErrorCode.UnsupportedMediaType, "The request body must be JSON (Content-Type: application/json)."));
        }

        var buffer = new PooledBufferWriter(request.ContentLength is > 0 and < 1 << 20 ? (int)request.ContentLength.Value : 16 * 1024);
        var body = request.Body;
        var error = (GatewayError?)null;
        while (true)
        {
            var memory = buffer.GetMemory(8192);
            int read;
            try
            {
                read = await body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex)
            {
                // Kestrel's own refusals of the body, each named for what it is.
                error = ex.StatusCode switch
                {
                    StatusCodes.Status413PayloadTooLarge => TooLarge(maxBytes),
                    StatusCodes.Status408RequestTimeout => new GatewayError(GatewayErrorCode.RequestTimeout, "The request body arrived too slowly (below the server's minimum data rate)."),
                    _ => new GatewayError(GatewayErrorCode.InvalidRequest, "The request body is malformed: " + ex.Message),
                };
                break;
            }
            catch
            {
                buffer.Dispose();
                throw;
            }

            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                error = TooLarge(maxBytes);
                break;
            }
        }

        if (error is null && buffer.WrittenCount == 0)
        {
            error = new GatewayError(GatewayErrorCode.InvalidJson, "The request body is empty; a JSON object is required.");
        }

        if (error is not null)
        {
            buffer.Dispose();
            return (null, error);
        }

        return (buffer, null);
    }

    /// <summary>Parses a body read by <see cref="ReadRawAsync"/> into a JSON object, or the error the caller gets.</summary>
    public static (JsonObject? Json, GatewayError? Error) Parse(ReadOnlySpan<byte> body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body, NodeOptions, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidJson, $"The request body is not valid JSON: {ex.Message}"));
        }

        if (node is not JsonObject json)
        {
            return (null, new GatewayError(GatewayErrorCode.InvalidJson, "The request body must be a JSON object."));
        }

        return (json, null);
    }

    private static GatewayError TooLarge(long maxBytes) =>
        new(GatewayErrorCode.BodyTooLarge, $"The request body is larger than the gateway's limit of {maxBytes} bytes.");
}
