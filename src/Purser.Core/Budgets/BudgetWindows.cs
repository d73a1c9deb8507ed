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

    /// <summary>The window's name in the config file, the admin API and headers.</summary>
    public static string Name(BudgetWindowKind kind) => kind switch
    {
        BudgetWindowKind.Hourly => "hourly",
        BudgetWindowKind.Daily => "daily",
        BudgetWindowKind.Weekly => "weekly",
        BudgetWindowKind.Monthly => "monthly",
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
            default:
                return false;
        }
    }

    public const string KindList = "hourly, daily, weekly, monthly or lifetime";

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
