using Purser.Budgets;

namespace Purser.RateLimits;

/// <summary>
/// A rate limit on one scope (organisation, team, key or task), optionally narrowed to one model alias. At least one of
/// <see cref="RequestsPerMinute"/>, <see cref="TokensPerMinute"/> and <see cref="MaxConcurrent"/> is set.
/// </summary>
public sealed record RateLimitDefinition
{
    /// <summary>The largest per-minute figure accepted: the limiter's integer arithmetic stays exact below it.</summary>
    public const long MaxPerMinute = 1_000_000_000_000;

    /// <summary>The largest concurrency cap accepted.</summary>
    public const int MaxConcurrentCap = 1_000_000;

    public required string Id { get; init; }

    public required ScopeRef Scope { get; init; }

    /// <summary>
    /// For a <c>user:*</c> limit (one set of buckets per end user): the key or team whose end users it counts; null for
    /// every key's end users.
    /// </summary>
    public ScopeRef? Under { get; init; }

    /// <summary>The model alias the limit applies to; null for every model.</summary>
    public string? Model { get; init; }

    public long? RequestsPerMinute { get; init; }

    /// <summary>Tokens (input and output) per minute: the worst case is taken at admission and settled to actual usage.</summary>
    public long? TokensPerMinute { get; init; }

    /// <summary>Requests in flight at once (a stream until it ends).</summary>
    public int? MaxConcurrent { get; init; }

    /// <summary>Whether the limit applies to a request for <paramref name="alias"/>.</summary>
    public bool AppliesTo(string alias) => Model is null || string.Equals(Model, alias, StringComparison.Ordinal);
}
