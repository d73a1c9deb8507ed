namespace Purser.Configuration;

/// <summary>
/// <c>usage</c>: how long the per-request usage records are kept. Hourly roll-ups by key, model and outcome are kept
/// for ever (they are bounded by what is configured, not by traffic), so spend totals outlive the records.
/// </summary>
public sealed record UsageConfig
{
    /// <summary>The largest <see cref="RetentionDays"/> accepted: ten years.</summary>
    public const int MaxRetentionDays = 3650;

    /// <summary>Days of usage records to keep; null keeps them all. Records older than this are pruned in the background.</summary>
    public int? RetentionDays { get; init; }
}
