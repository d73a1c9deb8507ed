namespace Purser.Usage;

/// <summary>Filters for reading usage records back; every filter is optional.</summary>
public sealed record UsageQuery
{
    public string? KeyId { get; init; }

    public string? ModelAlias { get; init; }

    /// <summary>Only records of this end user.</summary>
    public string? EndUser { get; init; }

    /// <summary>Only records carrying this tag (one of their comma-separated tags).</summary>
    public string? Tag { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public int Limit { get; init; } = 1000;
}
