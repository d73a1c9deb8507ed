using System.Globalization;
using Purser.Pricing;

namespace Purser.Bedtime;

/// <summary>
/// The calendar arithmetic of Bedtime Mode, in the policy's zone. Pure functions of an instant, so DST nights are
/// tested directly: a wall-clock time that does not exist (spring forward) moves forward to the first instant that does;
/// an ambiguous one (fall back) is read as standard time, the later of the two instants.
/// </summary>
public static class BedtimeClock
{
    /// <summary>Parses "HH:mm-HH:mm" (24-hour clock); start and end must differ.</summary>
    public static bool TryParseHours(string? text, out TimeOnly start, out TimeOnly end)
    {
        start = default;
        end = default;
        if (text is null)
        {
            return false;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && TimeOnly.TryParseExact(text.AsSpan(0, dash).Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out start)
            && TimeOnly.TryParseExact(text.AsSpan(dash + 1).Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out end)
            && start != end;
    }

    public static string FormatHours(TimeOnly start, TimeOnly end) =>
        start.ToString("HH:mm", CultureInfo.InvariantCulture) + "-" + end.ToString("HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The wall-clock time at <paramref name="now"/> in the zone.</summary>
    public static DateTime Local(TimeZoneInfo zone, DateTimeOffset now) => TimeZoneInfo.ConvertTime(now, zone).DateTime;

    /// <summary>Whether <paramref name="now"/> falls in the sleeping hours; when it does, the instant the night ends.</summary>
    public static bool IsSleeping(BedtimePolicy policy, TimeZoneInfo zone, DateTimeOffset now, out DateTimeOffset wakeAt)
    {
        var local = Local(zone, now);
        var time = TimeOnly.FromDateTime(local);
        var date = DateOnly.FromDateTime(local);
        wakeAt = default;
        bool sleeping;
        DateOnly wakeDate;
        if (policy.SleepStart < policy.SleepEnd)
        {
            // A night inside one day, e.g. 01:00-06:00.
            sleeping = time >= policy.SleepStart && time < policy.SleepEnd;
            wakeDate = date;
        }
        else
        {
            // A night across midnight, e.g. 23:00-07:00: before midnight the wake time is tomorrow's.
            sleeping = time >= policy.SleepStart || time < policy.SleepEnd;
            wakeDate = time >= policy.SleepStart ? date.AddDays(1) : date;
        }

        if (sleeping)
        {
            wakeAt = ToInstant(zone, wakeDate.ToDateTime(policy.SleepEnd));
        }

        return sleeping;
    }

    /// <summary>The local calendar day of <paramref name="now"/>, and the instants it starts and ends.</summary>
    public static (DateOnly Day, DateTimeOffset Start, DateTimeOffset End) Today(TimeZoneInfo zone, DateTimeOffset now)
    {
        var day = DateOnly.FromDateTime(Local(zone, now));
        return (day, StartOf(zone, day), StartOf(zone, day.AddDays(1)));
    }

    /// <summary>The instants that bound the <paramref name="days"/> full local days before <paramref name="today"/>.</summary>
    public static (DateTimeOffset From, DateTimeOffset To) BaselineRange(TimeZoneInfo zone, DateOnly today, int days) =>
        (StartOf(zone, today.AddDays(-days)), StartOf(zone, today));

    /// <summary>multiplier × max(baseline, floor), exact to the nano-dollar (rounded up, so the trip never comes early).</summary>
    public static Money Threshold(BedtimePolicy policy, Money baseline)
    {
        var basis = Money.Max(baseline, policy.Floor);
        var nano = decimal.Ceiling(basis.NanoUsd * policy.Multiplier);
        return Money.FromNano(nano >= long.MaxValue ? long.MaxValue : (long)nano);
    }

    /// <summary>The mean daily spend over the baseline days, rounded down.</summary>
    public static Money Mean(Money total, int days) => Money.FromNano(days <= 0 ? 0 : total.NanoUsd / days);

    public static DateTimeOffset StartOf(TimeZoneInfo zone, DateOnly day) => ToInstant(zone, day.ToDateTime(TimeOnly.MinValue));

    /// <summary>A wall-clock time in the zone as an instant; see the class comment for gaps and overlaps.</summary>
    public static DateTimeOffset ToInstant(TimeZoneInfo zone, DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);

        // Inside a spring-forward gap: step forward a minute at a time (gaps are at most a few hours) to the first real time.
        for (var i = 0; i < 24 * 60 && zone.IsInvalidTime(local); i++)
        {
            local = local.AddMinutes(1);
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.BaseUtcOffset : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }
}
