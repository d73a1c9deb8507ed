using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.Common;

/// <summary>Any key is accepted; only its absence is an error, so clients that forget to send one are caught.</summary>
internal static class Auth
{
    public static bool HasKey(HttpRequest request)
    {
        if (OpenAi.AzureRoute.Deployment(request.HttpContext) is not null)
        {
            // The Azure route already required its api-key header.
            return true;
        }

        if (request.Headers.TryGetValue("x-api-key", out var apiKey) && !string.IsNullOrWhiteSpace(apiKey.ToString()))
        {
            return true;
        }

        string? authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && authorization.AsSpan(7).Trim().Length > 0;
    }
}
