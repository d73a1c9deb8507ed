using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.Anthropic;

/// <summary>
/// The opening every Anthropic endpoint of the simulator shares: a request id, the key check, the required
/// <c>anthropic-version</c> header and the JSON body, each refused in Anthropic's error shape as the real API refuses it.
/// </summary>
internal static class AnthropicOpening
{
    /// <summary>The parsed body, or null once the refusal has been written.</summary>
    public static async Task<JsonDocument?> OpenAsync(HttpContext context, SimContext sim)
    {
        context.Response.Headers["request-id"] = sim.Ids.Next("req_");
        if (!Auth.HasKey(context.Request))
        {
            await AnthropicErrors.MissingKeyAsync(context).ConfigureAwait(false);
            return null;
        }

        if (string.IsNullOrWhiteSpace(context.Request.Headers["anthropic-version"].ToString()))
        {
            await AnthropicErrors.InvalidRequestAsync(context, "anthropic-version: header is required").ConfigureAwait(false);
            return null;
        }

        JsonDocument? document = await RequestBody.TryParseAsync(context).ConfigureAwait(false);
        if (document is null)
        {
            await AnthropicErrors.InvalidRequestAsync(context, "There was an issue with your request body: it is not valid JSON.").ConfigureAwait(false);
        }

        return document;
    }
}
