using Purser.Configuration;

namespace Purser.Gateway.Configuration;

/// <summary>A model alias joined with its provider: what the proxy needs to make the upstream call.</summary>
internal sealed record ResolvedModel
{
    public ResolvedModel(ModelConfig model, UpstreamTarget upstream)
    {
        Model = model;
        Upstream = upstream;
        if (upstream.Kind == ProviderKind.AzureOpenAI)
        {
            // Azure serves each model at its deployment's URL (the model's upstream name); built once per configuration.
            var deployment = upstream.Root + "/openai/deployments/" + Uri.EscapeDataString(model.UpstreamModel);
            var query = "?api-version=" + upstream.ApiVersion;
            ChatUri = new Uri(deployment + "/chat/completions" + query);
            EmbeddingsUri = new Uri(deployment + "/embeddings" + query);
        }
        else
        {
            ChatUri = upstream.Kind == ProviderKind.Anthropic ? upstream.MessagesUri : upstream.ChatCompletionsUri;
            EmbeddingsUri = upstream.EmbeddingsUri;
        }
    }

    public ModelConfig Model { get; }

    public UpstreamTarget Upstream { get; }

    public string Alias => Model.Alias;

    /// <summary>Where a chat call to this model goes: Anthropic's <c>/messages</c>, OpenAI's <c>/chat/completions</c>, or the Azure deployment's.</summary>
    public Uri ChatUri { get; }

    /// <summary>Where an embeddings call to this model goes.</summary>
    public Uri EmbeddingsUri { get; }
}
