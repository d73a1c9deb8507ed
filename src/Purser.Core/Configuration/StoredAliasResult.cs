using Purser.Admin;

namespace Purser.Configuration;

/// <summary>
/// The file's configuration with the stored aliases that are valid against it merged in (<see cref="Applied"/>), and
/// the errors of those that are not, which are left out.
/// </summary>
public sealed record StoredAliasResult(PurserConfig Config, IReadOnlyList<StoredAlias> Applied, IReadOnlyList<ConfigError> Errors);
