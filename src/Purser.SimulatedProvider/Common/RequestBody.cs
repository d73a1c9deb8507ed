using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.Common;

internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 128 };

    /// <summary>The parsed body, or null when it is not JSON (the caller answers 400 in its provider's shape).</summary>
    public static async Task<JsonDocument?> TryParseAsync(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            // Malformed input is an expected outcome here; the parser only reports it by throwing.
            return null;
        }
    }
}
