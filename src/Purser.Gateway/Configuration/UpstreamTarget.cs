using Purser.Configuration;

namespace Purser.Gateway.Configuration;

/// <summary>A provider's endpoints, built once per configuration so the request path allocates no URIs.</summary>
internal sealed class UpstreamTarget
{
    public UpstreamTarget(ProviderConfig provider)
    {
        Name = provider.Name;
        Kind = provider.Kind;
        ApiKey = provider.ApiKey;
        BearerHeader = string.IsNullOrEmpty(provider.ApiKey) ? null : "Bearer " + provider.ApiKey;
        UsesMaxCompletionTokens = provider.Kind == ProviderKind.OpenAI
            && provider.BaseUrl.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase);
        var root = provider.BaseUrl.AbsoluteUri.TrimEnd('/');
        ChatCompletionsUri = new Uri(root + "/chat/completions");
        MessagesUri = new Uri(root + "/messages");
        EmbeddingsUri = new Uri(root + "/embeddings");
        ResponsesUri = new Uri(root + "/responses");
    }

    public string Name { get; }

    public ProviderKind Kind { get; }

    /// <summary>The provider secret. Only ever written into the upstream request's auth header.</summary>
    public string? ApiKey { get; }

    /// <summary>"Bearer &lt;key&gt;", built once.</summary>
    public string? BearerHeader { get; }

    /// <summary>
    /// OpenAI itself wants <c>max_completion_tokens</c> (its reasoning models reject <c>max_tokens</c>), while many
    /// OpenAI-compatible servers only know <c>max_tokens</c>.
    /// </summary>
    public bool UsesMaxCompletionTokens { get; }

    public Uri ChatCompletionsUri { get; }

    public Uri MessagesUri { get; }

    public Uri EmbeddingsUri { get; }

    /// <summary>The Responses API (<c>/responses</c>); a stored response is <c>/responses/{id}</c> under it.</summary>
    public Uri ResponsesUri { get; }

    public override string ToString() => $"{Name} ({Kind})";
}
