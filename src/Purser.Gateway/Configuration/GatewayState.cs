using System.Collections.Frozen;
using Purser.Configuration;
using Purser.Keys;

namespace Purser.Gateway.Configuration;

/// <summary>
/// One immutable snapshot of everything a request needs to know about configuration. A reload builds a new snapshot
/// and swaps a reference, so a request sees one consistent configuration from start to end without locks.
/// </summary>
internal sealed class GatewayState
{
    public GatewayState(PurserConfig config)
    {
        Config = config;
        Keys = new KeyRing(config.Keys);
        var targets = new Dictionary<string, UpstreamTarget>(config.Providers.Count, StringComparer.Ordinal);
        foreach (var (name, provider) in config.Providers)
        {
            targets[name] = new UpstreamTarget(provider);
        }

        var models = new Dictionary<string, ResolvedModel>(config.Models.Count, StringComparer.Ordinal);
        foreach (var (alias, model) in config.Models)
        {
            // The loader already refused models naming an unknown provider.
            models[alias] = new ResolvedModel(model, targets[model.Provider]);
        }

        Models = models.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public PurserConfig Config { get; }

    public KeyRing Keys { get; }

    public FrozenDictionary<string, ResolvedModel> Models { get; }
}
