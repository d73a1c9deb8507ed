using Purser.Configuration;

namespace Purser.Gateway.Configuration;

/// <summary>A model alias joined with its provider: what the proxy needs to make the upstream call.</summary>
internal sealed record ResolvedModel(ModelConfig Model, UpstreamTarget Upstream)
{
    public string Alias => Model.Alias;
}
