using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Bedtime;

/// <summary>
/// Bedtime Mode for one key or team: during the sleeping hours (local time in <see cref="TimeZone"/>), once today's
/// spend reaches <see cref="Multiplier"/> × max(baseline, <see cref="Floor"/>) the scope trips and its requests are
/// refused (or served by <see cref="DegradeModel"/>) until the wake time or until an operator wakes it.
/// </summary>
/// <param name="Scope">"key:&lt;id&gt;" or "team:&lt;id&gt;".</param>
/// <param name="BaselineDays">The baseline is the mean daily spend over this many previous full local days.</param>
/// <param name="Floor">The least baseline used, so a new or quiet key is not tripped by its first requests.</param>
/// <param name="DegradeModel">When set, a tripped scope's chat requests are served by this alias instead of refused.</param>
public sealed record BedtimePolicy(
    ScopeRef Scope,
    bool Enabled,
    string TimeZone,
    TimeOnly SleepStart,
    TimeOnly SleepEnd,
    int BaselineDays,
    decimal Multiplier,
    Money Floor,
    string? DegradeModel)
{
    public static readonly TimeOnly DefaultSleepStart = new(23, 0);

    public static readonly TimeOnly DefaultSleepEnd = new(7, 0);

    public const int DefaultBaselineDays = 7;

    public const decimal DefaultMultiplier = 2m;

    /// <summary>One dollar: a key that spent nothing before cannot trip on cents.</summary>
    public static readonly Money DefaultFloor = Money.FromUsd(1m);

    /// <summary>The sleeping hours as written in the config and the admin API, e.g. "23:00-07:00".</summary>
    public string Hours => BedtimeClock.FormatHours(SleepStart, SleepEnd);
}
