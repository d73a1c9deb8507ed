using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAiErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string message, string type, string? param = null, string? code = null)
    {
        using var body = new PooledBufferWriter(512);
        Utf8JsonWriter w = JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteStartObject("error"u8);
        w.WriteString("message"u8, message);
        w.WriteString("type"u8, type);
        WriteNullable(w, "param"u8, param);
        WriteNullable(w, "code"u8, code);
        w.WriteEndObject();
        w.WriteEndObject();
        JsonWriterCache.Return(w);
        await ResponseWriter.SendAsync(context, status, body).ConfigureAwait(false);
    }

    public static Task InvalidRequestAsync(HttpContext context, string message, string? param = null) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, message, "invalid_request_error", param);

    public static Task MissingKeyAsync(HttpContext context) =>
        WriteAsync(
            context,
            StatusCodes.Status401Unauthorized,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            code: "invalid_api_key");

    public static Task MalformedBodyAsync(HttpContext context) =>
        InvalidRequestAsync(context, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)");

    /// <summary>The injected failure statuses, with the bodies and headers OpenAI really sends.</summary>
    public static Task SimulatedFailureAsync(HttpContext context, int status)
    {
        switch (status)
        {
            case StatusCodes.Status429TooManyRequests:
                context.Response.Headers.RetryAfter = "1";
                return WriteAsync(context, status, "Rate limit reached for requests (simulated). Please try again in 1s.", "requests", code: "rate_limit_exceeded");
            case StatusCodes.Status500InternalServerError:
                return WriteAsync(context, status, "The server had an error while processing your request. Sorry about that! (simulated)", "server_error");
            default:
                return WriteAsync(context, status, "The engine is currently overloaded, please try again later. (simulated)", "server_error");
        }
    }

    private static void WriteNullable(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
