namespace Purser.Configuration.Sections;

/// <summary>What a rate limit may name: the organisation, the teams, the keys, and the aliases it may narrow to.</summary>
internal sealed record RateLimitScopes(string Organization, HashSet<string> Teams, HashSet<string> Keys, HashSet<string> Aliases);
