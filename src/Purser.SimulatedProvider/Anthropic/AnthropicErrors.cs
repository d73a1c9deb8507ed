using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Anthropic;

/// <summary>Anthropic's error body: <c>{"type":"error","error":{"type","message"}}</c>.</summary>
internal static class AnthropicErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string type, string message)
    {
        using var body = new PooledBufferWriter(512);
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteString("type"u8, "error"u8);
        w.WriteStartObject("error"u8);
        w.WriteString("type"u8, type);
        w.WriteString("message"u8, message);
        w.WriteEndObject();
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, status, body).ConfigureAwait(false);
    }

    public static Task InvalidRequestAsync(HttpContext context, string message) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", message);

    public static Task MissingKeyAsync(HttpContext context) =>
        WriteAsync(context, StatusCodes.Status401Unauthorized, "authentication_error", "x-api-key header is required");

    public static Task SimulatedFailureAsync(HttpContext context, int status)
    {
        switch (status)
        {
            case StatusCodes.Status429TooManyRequests:
                context.Response.Headers.RetryAfter = "1";
                return WriteAsync(context, status, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit (simulated).");
            case 529:
                return WriteAsync(context, status, "overloaded_error", "Overloaded (simulated)");
            default:
                return WriteAsync(context, status, "api_error", "Internal server error (simulated)");
        }
    }
}
