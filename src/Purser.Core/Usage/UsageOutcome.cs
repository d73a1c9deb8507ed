namespace Purser.Usage;

/// <summary>How a request ended, as the roll-ups group it. Words, so an operator's database shell reads them.</summary>
public static class UsageOutcome
{
    /// <summary>Answered (a 2xx or 3xx status).</summary>
    public const string Ok = "ok";

    /// <summary>Refused before any upstream call (a budget, Bedtime, an unknown model): nothing was spent.</summary>
    public const string Refused = "refused";

    /// <summary>Failed after it was admitted (an upstream error, a timeout).</summary>
    public const string Failed = "failed";

    /// <summary>One hour in unix milliseconds: roll-up buckets start on UTC hours.</summary>
    public const long HourMs = 3_600_000;

    public static string Of(UsageRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Source == UsageSource.None ? Refused : record.Status < 400 ? Ok : Failed;
    }

    /// <summary>The start of the UTC hour holding <paramref name="unixMs"/>, in unix milliseconds.</summary>
    public static long HourOf(long unixMs) => unixMs - (((unixMs % HourMs) + HourMs) % HourMs);
}
