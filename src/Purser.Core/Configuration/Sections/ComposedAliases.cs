namespace Purser.Configuration.Sections;

/// <summary>What a route or ensemble may name: the valid models and the declared route and ensemble names.</summary>
internal sealed record ComposedAliases(Dictionary<string, ModelConfig> Models, HashSet<string> Routes, HashSet<string> Ensembles);
