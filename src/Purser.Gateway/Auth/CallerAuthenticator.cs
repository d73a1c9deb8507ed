using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Keys;

namespace Purser.Gateway.Auth;

/// <summary>Finds the caller's virtual key from <c>Authorization: Bearer</c> or <c>x-api-key</c>.</summary>
internal static class CallerAuthenticator
{
    public static GatewayError? Authenticate(HttpRequest request, GatewayState state, TimeProvider time, out VirtualKey? key)
    {
        key = null;
        var secret = ReadSecret(request);
        if (secret.IsEmpty)
        {
            return new GatewayError(GatewayErrorCode.MissingApiKey, "No API key: send your Purser virtual key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
        }

        if (!state.Keys.TryFind(secret, out var found))
        {
            return new GatewayError(GatewayErrorCode.InvalidApiKey, "The API key is not a valid Purser virtual key.");
        }

        if (found.IsExpired(time.GetUtcNow()))
        {
            return new GatewayError(GatewayErrorCode.ExpiredApiKey, $"The virtual key '{found.Id}' has expired.");
        }

        key = found;
        return null;
    }

    private static ReadOnlySpan<char> ReadSecret(HttpRequest request)
    {
        var headers = request.Headers;
        string? authorization = headers.Authorization;
        if (!string.IsNullOrEmpty(authorization))
        {
            var value = authorization.AsSpan().Trim();
            if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return value[7..].Trim();
            }
        }

        string? apiKey = headers["x-api-key"];
        return apiKey.AsSpan().Trim();
    }
}
