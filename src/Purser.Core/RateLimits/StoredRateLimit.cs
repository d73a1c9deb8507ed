namespace Purser.RateLimits;

/// <summary>
/// A rate limit created through the admin API. <see cref="Definition"/> is the body as the config file's rate_limits
/// entry would hold it (JSON, which is YAML), parsed by the same rules at every load (<see cref="RateLimitEntries"/>).
/// </summary>
public sealed record StoredRateLimit(string Id, string Definition, DateTimeOffset UpdatedAt);
