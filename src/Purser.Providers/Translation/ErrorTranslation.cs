using System.Text.Json.Nodes;

namespace Purser.Providers.Translation;

/// <summary>
/// Re-shapes an upstream error body for a caller that speaks the other provider's API, keeping the upstream
/// message (it tells the caller what to fix) and deriving the error type from the HTTP status, which both SDKs
/// key their exception classes on.
/// </summary>
public static class ErrorTranslation
{
    /// <summary>OpenAI error body → <c>{"type":"error","error":{"type":…,"message":…}}</c>.</summary>
    public static JsonObject OpenAiErrorToAnthropic(int status, ReadOnlySpan<byte> openAiErrorBody)
    {
        var message = TryReadMessage(openAiErrorBody, out var m) ? m : GenericMessageFor(status);
        return new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject
            {
                ["type"] = AnthropicErrorTypeFor(status),
                ["message"] = message,
            },
        };
    }

    /// <summary>Anthropic error body → <c>{"error":{"message":…,"type":…,"param":…,"code":…}}</c>.</summary>
    public static JsonObject AnthropicErrorToOpenAi(int status, ReadOnlySpan<byte> anthropicErrorBody)
    {
        var message = TryReadMessage(anthropicErrorBody, out var m) ? m : GenericMessageFor(status);
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = OpenAiErrorTypeFor(status),
                ["param"] = null,
                ["code"] = OpenAiErrorCodeFor(status),
            },
        };
    }

    /// <summary>The Anthropic error type for an HTTP status, per Anthropic's published table.</summary>
    public static string AnthropicErrorTypeFor(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        // Anthropic documents invalid_request_error for 4xx codes it does not list.
        >= 400 and < 500 => "invalid_request_error",
        _ => "api_error",
    };

    /// <summary>
    /// The OpenAI error type for an HTTP status. For 429 this is "requests", which is what OpenAI itself puts in
    /// <c>type</c> for request-rate limits (the machine-readable "rate_limit_exceeded" goes in <c>code</c>, see
    /// <see cref="OpenAiErrorCodeFor"/>).
    /// </summary>
    public static string OpenAiErrorTypeFor(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "requests",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>OpenAI's <c>code</c> for the status, or null when OpenAI would send none we can infer.</summary>
    public static string? OpenAiErrorCodeFor(int status) => status == 429 ? "rate_limit_exceeded" : null;

    // Both shapes keep the human message at error.message; a bare string "error" also occurs in proxies.
    private static bool TryReadMessage(ReadOnlySpan<byte> body, out string message)
    {
        message = "";
        if (!JsonNodes.TryParseObject(body, out var root))
        {
            return false;
        }

        var error = root["error"];
        if (error is JsonObject errorObject && JsonNodes.TryGetString(errorObject["message"], out var m) && m.Length > 0)
        {
            message = m;
            return true;
        }

        if (JsonNodes.TryGetString(error, out var s) && s.Length > 0)
        {
            message = s;
            return true;
        }

        return false;
    }

    private static string GenericMessageFor(int status) => status switch
    {
        400 => "The upstream provider rejected the request as invalid.",
        401 => "The upstream provider rejected the gateway's credentials.",
        403 => "The upstream provider denied permission for this request.",
        404 => "The upstream provider could not find the requested resource or model.",
        413 => "The request is too large for the upstream provider.",
        429 => "The upstream provider is rate limiting requests; retry later.",
        529 => "The upstream provider is overloaded; retry later.",
        >= 500 => "The upstream provider failed to process the request.",
        _ => "The upstream provider returned an error.",
    };
}
