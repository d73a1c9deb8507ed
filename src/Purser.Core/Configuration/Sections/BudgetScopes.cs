namespace Purser.Configuration.Sections;

/// <summary>What a budget may refer to: the organisation, every declared team, key and alias, and the valid models.</summary>
internal sealed record BudgetScopes(
    string Organization,
    HashSet<string> Teams,
    HashSet<string> Keys,
    HashSet<string> Aliases,
    Dictionary<string, ModelConfig> Models);
