using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Upstream;

/// <summary>Builds the HTTP request to a provider: its URI, its auth header, and the JSON body from a pooled buffer.</summary>
internal static class UpstreamRequest
{
    private const string DefaultAnthropicVersion = "2023-06-01";

    /// <summary>Serialises <paramref name="body"/> into <paramref name="buffer"/>; the request reads from it until sent.</summary>
    public static HttpRequestMessage Create(UpstreamTarget target, Uri uri, JsonObject body, PooledBufferWriter buffer, HttpRequest caller)
    {
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            body.WriteTo(json);
        }

        return Create(target, uri, buffer, caller);
    }

    /// <summary>The request over a body already written into <paramref name="body"/>, which it reads from until sent.</summary>
    public static HttpRequestMessage Create(UpstreamTarget target, Uri uri, PooledBufferWriter body, HttpRequest caller)
    {
        var content = Upstream.MeteredContent.Over(body);
        var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content, Version = System.Net.HttpVersion.Version11 };
        if (target.Kind == ProviderKind.Anthropic)
        {
            if (target.ApiKey is { Length: > 0 } key)
            {
                request.Headers.TryAddWithoutValidation("x-api-key", key);
            }

            // An Anthropic caller's version and beta flags describe its own request, so they travel with it.
            string? version = caller.Headers["anthropic-version"];
            request.Headers.TryAddWithoutValidation("anthropic-version", string.IsNullOrEmpty(version) ? DefaultAnthropicVersion : version);
            string? beta = caller.Headers["anthropic-beta"];
            if (!string.IsNullOrEmpty(beta))
            {
                request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
            }
        }
        else if (target.Kind == ProviderKind.AzureOpenAI)
        {
            // Azure OpenAI authenticates an API key by its own header, not a bearer token.
            if (target.ApiKey is { Length: > 0 } azureKey)
            {
                request.Headers.TryAddWithoutValidation("api-key", azureKey);
            }
        }
        else if (target.BearerHeader is { } bearer)
        {
            request.Headers.TryAddWithoutValidation("Authorization", bearer);
        }

        return request;
    }

    /// <summary>A request without a body (a stored response's retrieval, deletion or cancellation) to an OpenAI-format provider.</summary>
    public static HttpRequestMessage CreateBodiless(UpstreamTarget target, HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri) { Version = System.Net.HttpVersion.Version11 };
        if (target.BearerHeader is { } bearer)
        {
            request.Headers.TryAddWithoutValidation("Authorization", bearer);
        }

        return request;
    }
}
