using System.Text.Json;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Errors;

/// <summary>Renders a <see cref="GatewayError"/> in the caller's API format, so the caller's SDK raises its own exception type.</summary>
internal static class ErrorWriter
{
    public static async Task WriteAsync(HttpContext context, GatewayError error, ApiFormat format)
    {
        var entry = ErrorTable.Describe(error.Code);
        var response = context.Response;
        if (response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            // A started stream ends with an error event instead (the relay writes it); a caller who left reads nothing.
            return;
        }

        response.StatusCode = ErrorTable.StatusOf(error);
        response.ContentType = "application/json";
        if (error.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (error.RetryAfterMs is { } retryMs)
        {
            response.Headers.RetryAfter = ((retryMs + 999) / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (error.RetryAfterMs is { } waitMs)
        {
            response.Headers["retry-after-ms"] = waitMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var body = Render(error, entry, format);
        response.ContentLength = body.Length;
        try
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The caller hung up while its error was written: the usage record already says what happened.
        }
    }

    public static byte[] Render(GatewayError error, ApiFormat format) => Render(error, ErrorTable.Describe(error.Code), format);

    private static byte[] Render(GatewayError error, ErrorTable.Entry entry, ApiFormat format)
    {
        using var buffer = new PooledBufferWriter();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (format == ApiFormat.Anthropic)
            {
                json.WriteString("type"u8, "error"u8);
                json.WriteStartObject("error"u8);
                json.WriteString("type"u8, entry.AnthropicType);
                json.WriteString("message"u8, error.Message);

                // Anthropic's shape has no code; the same machine-readable one as the OpenAI shape is added, so a caller
                // tells a ledger outage (ledger_unavailable) or a budget refusal from any other error in either format.
                json.WriteString("code"u8, ErrorTable.CodeOf(error));
                error.Budget?.WriteFields(json);

                json.WriteEndObject();
            }
            else
            {
                json.WriteStartObject("error"u8);
                json.WriteString("message"u8, error.Message);
                json.WriteString("type"u8, entry.OpenAiType);
                if (error.Param is null)
                {
                    json.WriteNull("param"u8);
                }
                else
                {
                    json.WriteString("param"u8, error.Param);
                }

                json.WriteString("code"u8, ErrorTable.CodeOf(error));
                error.Budget?.WriteFields(json);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
