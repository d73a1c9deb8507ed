using Purser.Pricing;

namespace Purser.Usage;

/// <summary>
/// The totals of one key's requests to one model alias with one outcome in one UTC hour. Written in the same
/// transaction as the records they sum and never pruned, so spend reports, the overview and Bedtime baselines read
/// the same totals before and after the records are pruned.
/// </summary>
public sealed record UsageRollup
{
    public required DateTimeOffset HourStart { get; init; }

    public required string KeyId { get; init; }

    public required string ModelAlias { get; init; }

    /// <summary>One of <see cref="UsageOutcome"/>'s words.</summary>
    public required string Outcome { get; init; }

    public long Requests { get; init; }

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    public Money Cost { get; init; }

    /// <summary>Requests degraded to fit a budget.</summary>
    public long Degraded { get; init; }
}
