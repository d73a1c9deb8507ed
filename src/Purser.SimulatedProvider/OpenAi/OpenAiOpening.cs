using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// The opening every OpenAI endpoint of the simulator shares: a request id, the key check and the JSON body, each
/// refused in OpenAI's error shape as the real API refuses it.
/// </summary>
internal static class OpenAiOpening
{
    /// <summary>The parsed body, or null once the refusal has been written.</summary>
    public static async Task<JsonDocument?> OpenAsync(HttpContext context, SimContext sim)
    {
        context.Response.Headers["x-request-id"] = sim.Ids.Next("req_");
        if (!Auth.HasKey(context.Request))
        {
            await OpenAiErrors.MissingKeyAsync(context).ConfigureAwait(false);
            return null;
        }

        JsonDocument? document = await RequestBody.TryParseAsync(context).ConfigureAwait(false);
        if (document is null)
        {
            await OpenAiErrors.MalformedBodyAsync(context).ConfigureAwait(false);
        }

        return document;
    }
}
