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
        ApiVersion = provider.ApiVersion;
        ResponsesApi = provider.Kind != ProviderKind.Anthropic && provider.ResponsesApi;
        BearerHeader = string.IsNullOrEmpty(provider.ApiKey) ? null : "Bearer " + provider.ApiKey;
        UsesMaxCompletionTokens = provider.Kind == ProviderKind.AzureOpenAI
            || (provider.Kind == ProviderKind.OpenAI && provider.BaseUrl.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase));
        Root = provider.BaseUrl.AbsoluteUri.TrimEnd('/');
        ChatCompletionsUri = new Uri(Root + "/chat/completions");
        MessagesUri = new Uri(Root + "/messages");
        CountTokensUri = new Uri(Root + "/messages/count_tokens");
        EmbeddingsUri = new Uri(Root + "/embeddings");
        ResponsesUri = new Uri(Root + "/responses");
    }

    public string Name { get; }

    public ProviderKind Kind { get; }

    /// <summary>Whether the provider speaks OpenAI's wire format (OpenAI, any compatible server, Azure OpenAI).</summary>
    public bool SpeaksOpenAi => Kind != ProviderKind.Anthropic;

    /// <summary>The provider serves <c>/responses</c> itself; false for Anthropic and for chat-only OpenAI-compatible servers.</summary>
    public bool ResponsesApi { get; }

    /// <summary>The provider secret. Only ever written into the upstream request's auth header.</summary>
    public string? ApiKey { get; }

    /// <summary>Azure OpenAI's <c>api-version</c>; null for every other kind.</summary>
    public string? ApiVersion { get; }

    /// <summary>"Bearer &lt;key&gt;", built once.</summary>
    public string? BearerHeader { get; }

    /// <summary>
    /// OpenAI itself (and Azure OpenAI) wants <c>max_completion_tokens</c> (its reasoning models reject
    /// <c>max_tokens</c>), while many OpenAI-compatible servers only know <c>max_tokens</c>.
    /// </summary>
    public bool UsesMaxCompletionTokens { get; }

    /// <summary>The base URL without its trailing slash.</summary>
    public string Root { get; }

    public Uri ChatCompletionsUri { get; }

    public Uri MessagesUri { get; }

    /// <summary>Anthropic's <c>/messages/count_tokens</c>.</summary>
    public Uri CountTokensUri { get; }

    public Uri EmbeddingsUri { get; }

    /// <summary>The Responses API (<c>/responses</c>); a stored response is <c>/responses/{id}</c> under it.</summary>
    public Uri ResponsesUri { get; }

    public override string ToString() => $"{Name} ({Kind})";
}
