using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.OpenAi;

/// <summary>
/// Azure OpenAI's URL shape: <c>/openai/deployments/{deployment}/chat/completions?api-version=…</c> (and
/// <c>/embeddings</c>), authenticated by an <c>api-key</c> header — a bearer token holding an API key is refused, and
/// a request without <c>api-version</c> is not found, as Azure answers. The deployment names the model.
/// </summary>
internal static class AzureRoute
{
    private const string Prefix = "/openai/deployments/";
    private static readonly object DeploymentKey = new();

    /// <summary>The deployment of an Azure request that passed <see cref="TryAccept"/>; null on OpenAI's own paths.</summary>
    public static string? Deployment(HttpContext context) => context.Items.TryGetValue(DeploymentKey, out var value) ? value as string : null;

    /// <summary>
    /// Splits an Azure path into its deployment and operation (<c>chat/completions</c> or <c>embeddings</c>); false
    /// for any other path.
    /// </summary>
    public static bool TryMatch(string path, out string deployment, out string operation)
    {
        deployment = operation = string.Empty;
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path.AsSpan(Prefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        deployment = Uri.UnescapeDataString(rest[..slash].ToString());
        operation = rest[(slash + 1)..].ToString();
        return operation is "chat/completions" or "embeddings";
    }

    /// <summary>Checks the key header and the api-version; writes Azure's refusal and returns false when either is wrong.</summary>
    public static async Task<bool> TryAcceptAsync(HttpContext context, string deployment)
    {
        var request = context.Request;
        if (string.IsNullOrWhiteSpace(request.Headers["api-key"].ToString()))
        {
            await AzureErrorAsync(context, StatusCodes.Status401Unauthorized, "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.").ConfigureAwait(false);
            return false;
        }

        if (string.IsNullOrWhiteSpace(request.Query["api-version"].ToString()))
        {
            await AzureErrorAsync(context, StatusCodes.Status404NotFound, "404", "Resource not found").ConfigureAwait(false);
            return false;
        }

        context.Items[DeploymentKey] = deployment;
        return true;
    }

    private static async Task AzureErrorAsync(HttpContext context, int status, string code, string message)
    {
        using var body = new Common.PooledBufferWriter(256);
        var w = Common.JsonWriterCache.Rent(body);
        w.WriteStartObject();
        w.WriteStartObject("error"u8);
        w.WriteString("code"u8, code);
        w.WriteString("message"u8, message);
        w.WriteEndObject();
        w.WriteEndObject();
        Common.JsonWriterCache.Return(w);
        await Common.ResponseWriter.SendAsync(context, status, body).ConfigureAwait(false);
    }
}
