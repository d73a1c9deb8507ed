namespace Purser.Usage;

/// <summary>Filters for reading usage records back; every filter is optional.</summary>
public sealed record UsageQuery
{
    public string? KeyId { get; init; }

    public string? ModelAlias { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    public int Limit { get; init; } = 1000;
}
