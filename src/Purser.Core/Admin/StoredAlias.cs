namespace Purser.Admin;

/// <summary>
/// A routing or ensemble alias created through the admin API. <see cref="Definition"/> is the body as the config
/// file's section would hold it (JSON, which is YAML), so it is parsed by the same rules at every load: a definition
/// that a later file no longer supports (a member model removed) is skipped rather than served half-valid.
/// </summary>
public sealed record StoredAlias(string Alias, AliasKind Kind, string Definition, DateTimeOffset UpdatedAt);
