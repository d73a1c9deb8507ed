namespace Purser.Ensembles;

/// <summary>
/// A routing alias: ordered targets (model or routing aliases), tried in turn on 429, 5xx, timeouts and connection
/// errors. A target that failed is skipped for <see cref="CooldownSeconds"/> so that every request does not pay for
/// finding out again.
/// </summary>
public sealed record RouteConfig
{
    public required string Alias { get; init; }

    public required IReadOnlyList<string> Targets { get; init; }

    public int CooldownSeconds { get; init; } = 30;
}
