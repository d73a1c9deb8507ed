namespace Purser.Events;

/// <summary>Filters for reading events back; every filter is optional. <see cref="From"/> is inclusive, <see cref="To"/> exclusive.</summary>
public sealed record EventQuery
{
    public string? Type { get; init; }

    public string? Scope { get; init; }

    public DateTimeOffset? From { get; init; }

    public DateTimeOffset? To { get; init; }

    /// <summary>Most events returned; a non-positive limit means no limit.</summary>
    public int Limit { get; init; } = 1000;
}
