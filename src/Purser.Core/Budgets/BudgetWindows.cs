using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security;

namespace Purser.Budgets;

/// <summary>
/// Calendar windows: a day starts at local midnight and a month at local midnight of its first day, in the budget's
/// IANA zone. When DST skips midnight the day starts at the first local instant that exists; when midnight happens
/// twice the day starts at the first one — so every instant belongs to exactly one day and days are 23–25 h long.
/// An hour starts at the top of a local hour (keyed by its UTC instant, so the hour repeated at a fall-back is two
/// windows); a week is an ISO week, starting at local midnight on Monday (keyed "2026-W48").
/// </summary>
public static class BudgetWindows
{
    public const string LifetimeKey = "lifetime";

    /// <summary>The window key of a rolling window's bucket starts with this: "r:2026-11-24T12:05Z".</summary>
    public const string RollingPrefix = "r:";

    private static readonly TimeSpan SearchSpan = TimeSpan.FromHours(18);

    public static WindowInstance Current(BudgetWindowKind kind, TimeZoneInfo zone, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(zone);
        switch (kind)
        {
            case BudgetWindowKind.Daily:
            {
                var today = TimeZoneInfo.ConvertTime(now, zone).Date;
                return new WindowInstance(
                    today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    StartOfLocalDay(today, zone),
                    StartOfLocalDay(today.AddDays(1), zone));
            }

            case BudgetWindowKind.Monthly:
            {
                var local = TimeZoneInfo.ConvertTime(now, zone).Date;
                var first = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
                return new WindowInstance(
                    first.ToString("yyyy-MM", CultureInfo.InvariantCulture),
                    StartOfLocalDay(first, zone),
                    StartOfLocalDay(first.AddMonths(1), zone));
            }

            case BudgetWindowKind.Lifetime:
                return new WindowInstance(LifetimeKey, DateTimeOffset.MinValue, null);

            case BudgetWindowKind.Rolling1h or BudgetWindowKind.Rolling24h or BudgetWindowKind.Rolling7d:
            {
                // The current bucket: its counter takes this request; the window is it and the buckets before it.
                var (span, bucket) = Rolling(kind);
                var start = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % bucket.Ticks), TimeSpan.Zero);
                return new WindowInstance(BucketKey(start), start - span, start + bucket);
            }

            case BudgetWindowKind.Hourly:
            {
                var local = TimeZoneInfo.ConvertTime(now, zone);
                var start = new DateTimeOffset(local.Year, local.Month, local.Day, local.Hour, 0, 0, local.Offset).ToUniversalTime();
                return new WindowInstance(start.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture), start, start.AddHours(1));
            }

            case BudgetWindowKind.Weekly:
            {
                var today = TimeZoneInfo.ConvertTime(now, zone).Date;
                var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
                var key = ISOWeek.GetYear(monday).ToString("D4", CultureInfo.InvariantCulture) + "-W"
                    + ISOWeek.GetWeekOfYear(monday).ToString("D2", CultureInfo.InvariantCulture);
                return new WindowInstance(key, StartOfLocalDay(monday, zone), StartOfLocalDay(monday.AddDays(7), zone));
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>
    /// A rolling window's span and bucket width: 1 h in 1-minute buckets, 24 h in 10-minute buckets, 7 days in 1-hour
    /// buckets. Spend is kept per bucket (the bucket in which its request was admitted); the window at an instant is the
    /// current bucket and the <c>span / bucket</c> buckets before it, so spend counts for at least the span and for less
    /// than the span plus one bucket.
    /// </summary>
    public static (TimeSpan Span, TimeSpan Bucket) Rolling(BudgetWindowKind kind) => kind switch
    {
        BudgetWindowKind.Rolling1h => (TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)),
        BudgetWindowKind.Rolling24h => (TimeSpan.FromHours(24), TimeSpan.FromMinutes(10)),
        BudgetWindowKind.Rolling7d => (TimeSpan.FromDays(7), TimeSpan.FromHours(1)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a rolling window"),
    };

    public static bool IsRolling(BudgetWindowKind kind) => kind is BudgetWindowKind.Rolling1h or BudgetWindowKind.Rolling24h or BudgetWindowKind.Rolling7d;

    public static bool IsRollingKey(string windowKey) => windowKey.StartsWith(RollingPrefix, StringComparison.Ordinal);

    /// <summary>The window keys of the buckets before <paramref name="current"/> that a rolling window still counts, newest first.</summary>
    public static string[] PastBuckets(BudgetWindowKind kind, WindowInstance current)
    {
        var (span, bucket) = Rolling(kind);
        var bucketStart = current.Start + span;
        var keys = new string[(int)(span.Ticks / bucket.Ticks)];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = BucketKey(bucketStart - (bucket * (i + 1)));
        }

        return keys;
    }

    private static string BucketKey(DateTimeOffset start) =>
        RollingPrefix + start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);

    /// <summary>The window's name in the config file, the admin API and headers.</summary>
    public static string Name(BudgetWindowKind kind) => kind switch
    {
        BudgetWindowKind.Hourly => "hourly",
        BudgetWindowKind.Daily => "daily",
        BudgetWindowKind.Weekly => "weekly",
        BudgetWindowKind.Monthly => "monthly",
        BudgetWindowKind.Rolling1h => "rolling_1h",
        BudgetWindowKind.Rolling24h => "rolling_24h",
        BudgetWindowKind.Rolling7d => "rolling_7d",
        _ => "lifetime",
    };

    /// <summary>Reads a window name (case-insensitive); false for anything else.</summary>
    public static bool TryParseKind(string? text, out BudgetWindowKind kind)
    {
        kind = BudgetWindowKind.Daily;
        switch (text?.ToUpperInvariant())
        {
            case "HOURLY":
                kind = BudgetWindowKind.Hourly;
                return true;
            case "DAILY":
                return true;
            case "WEEKLY":
                kind = BudgetWindowKind.Weekly;
                return true;
            case "MONTHLY":
                kind = BudgetWindowKind.Monthly;
                return true;
            case "LIFETIME":
                kind = BudgetWindowKind.Lifetime;
                return true;
            case "ROLLING_1H":
                kind = BudgetWindowKind.Rolling1h;
                return true;
            case "ROLLING_24H":
                kind = BudgetWindowKind.Rolling24h;
                return true;
            case "ROLLING_7D":
                kind = BudgetWindowKind.Rolling7d;
                return true;
            default:
                return false;
        }
    }

    public const string KindList = "hourly, daily, weekly, monthly, lifetime, rolling_1h, rolling_24h or rolling_7d";

    /// <summary>Finds an IANA zone ("Europe/Oslo", "UTC"); false for unknown or malformed ids, never throws.</summary>
    public static bool TryFindZone(string ianaId, [NotNullWhen(true)] out TimeZoneInfo? zone)
    {
        zone = null;
        if (string.IsNullOrWhiteSpace(ianaId))
        {
            return false;
        }

        if (string.Equals(ianaId, "UTC", StringComparison.Ordinal))
        {
            zone = TimeZoneInfo.Utc;
            return true;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(ianaId);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException
            or IOException or UnauthorizedAccessException or SecurityException)
        {
            zone = null;
            return false;
        }
    }

    /// <summary>The UTC instant at which the local calendar day <paramref name="date"/> begins in <paramref name="zone"/>.</summary>
    internal static DateTimeOffset StartOfLocalDay(DateTime date, TimeZoneInfo zone)
    {
        var midnight = DateTime.SpecifyKind(date.Date, DateTimeKind.Unspecified);
        if (zone.IsAmbiguousTime(midnight))
        {
            // The first midnight is the one at the larger (pre-fall-back) offset.
            var largest = TimeSpan.MinValue;
            foreach (var offset in zone.GetAmbiguousTimeOffsets(midnight))
            {
                if (offset > largest)
                {
                    largest = offset;
                }
            }

            return new DateTimeOffset(midnight, largest).ToUniversalTime();
        }

        if (!zone.IsInvalidTime(midnight))
        {
            return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight)).ToUniversalTime();
        }

        return FirstInstantAtOrAfter(midnight, zone);
    }

    /// <summary>
    /// Midnight falls in a DST gap: the day starts where local time first reaches or passes midnight, i.e. at the
    /// transition. Local time only moves forward across a gap, so a binary search over UTC finds it; this runs on a
    /// gap day only, not on every call.
    /// </summary>
    private static DateTimeOffset FirstInstantAtOrAfter(DateTime localMidnight, TimeZoneInfo zone)
    {
        var nominal = new DateTime(localMidnight.Ticks, DateTimeKind.Utc);
        var low = nominal - SearchSpan; // local time here is before midnight (offsets are within ±14 h)
        var high = nominal + SearchSpan; // and here it is after
        while (high.Ticks - low.Ticks > 1)
        {
            var middle = new DateTime(low.Ticks + ((high.Ticks - low.Ticks) / 2), DateTimeKind.Utc);
            if (TimeZoneInfo.ConvertTimeFromUtc(middle, zone) >= localMidnight)
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }

        return new DateTimeOffset(high, TimeSpan.Zero);
    }
}
