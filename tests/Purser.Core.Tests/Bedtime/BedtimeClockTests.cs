using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Core.Tests.Bedtime;

public sealed class BedtimeClockTests
{
    private static BedtimePolicy Policy(string zone, string hours = "23:00-07:00", decimal multiplier = 2m, decimal floor = 1m)
    {
        Assert.True(BedtimeClock.TryParseHours(hours, out var start, out var end));
        return new BedtimePolicy(new ScopeRef(ScopeKind.Key, "k"), true, zone, start, end, 7, multiplier, Money.FromUsd(floor), null);
    }

    private static TimeZoneInfo Zone(string id)
    {
        Assert.True(BudgetWindows.TryFindZone(id, out var zone));
        return zone;
    }

    [Fact]
    public void Two_in_the_morning_local_is_asleep_and_wakes_at_seven_local()
    {
        var oslo = Zone("Europe/Oslo");

        // 01:00 UTC is 02:00 in Oslo in November (UTC+1).
        Assert.True(BedtimeClock.IsSleeping(Policy("Europe/Oslo"), oslo, new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.Zero), out var wake));
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero), wake);
    }

    [Fact]
    public void Two_in_the_afternoon_local_is_awake()
    {
        Assert.False(BedtimeClock.IsSleeping(Policy("Europe/Oslo"), Zone("Europe/Oslo"), new DateTimeOffset(2026, 11, 24, 13, 0, 0, TimeSpan.Zero), out _));
    }

    [Fact]
    public void Before_midnight_the_wake_time_is_tomorrow_morning()
    {
        Assert.True(BedtimeClock.IsSleeping(Policy("UTC"), TimeZoneInfo.Utc, new DateTimeOffset(2026, 11, 24, 23, 30, 0, TimeSpan.Zero), out var wake));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 7, 0, 0, TimeSpan.Zero), wake);
    }

    [Fact]
    public void A_night_inside_one_day_is_sleeping_only_between_its_hours()
    {
        var policy = Policy("UTC", "01:00-05:00");
        Assert.False(BedtimeClock.IsSleeping(policy, TimeZoneInfo.Utc, new DateTimeOffset(2026, 1, 1, 0, 59, 0, TimeSpan.Zero), out _));
        Assert.True(BedtimeClock.IsSleeping(policy, TimeZoneInfo.Utc, new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero), out var wake));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 5, 0, 0, TimeSpan.Zero), wake);
        Assert.False(BedtimeClock.IsSleeping(policy, TimeZoneInfo.Utc, new DateTimeOffset(2026, 1, 1, 5, 0, 0, TimeSpan.Zero), out _));
    }

    [Fact]
    public void Spring_forward_night_wakes_at_seven_daylight_time()
    {
        // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT. 07:00 EDT is 11:00 UTC (not 12:00).
        var ny = Zone("America/New_York");
        var policy = Policy("America/New_York");
        Assert.True(BedtimeClock.IsSleeping(policy, ny, new DateTimeOffset(2026, 3, 8, 6, 30, 0, TimeSpan.Zero), out var wake));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 11, 0, 0, TimeSpan.Zero), wake);
        Assert.True(BedtimeClock.IsSleeping(policy, ny, new DateTimeOffset(2026, 3, 8, 10, 59, 0, TimeSpan.Zero), out _));
        Assert.False(BedtimeClock.IsSleeping(policy, ny, new DateTimeOffset(2026, 3, 8, 11, 0, 0, TimeSpan.Zero), out _));
    }

    [Fact]
    public void Fall_back_night_wakes_at_seven_standard_time()
    {
        // Oslo, 2026-10-25: 03:00 CEST falls back to 02:00 CET. 07:00 CET is 06:00 UTC.
        var oslo = Zone("Europe/Oslo");
        Assert.True(BedtimeClock.IsSleeping(Policy("Europe/Oslo"), oslo, new DateTimeOffset(2026, 10, 24, 22, 0, 0, TimeSpan.Zero), out var wake));
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 6, 0, 0, TimeSpan.Zero), wake);
    }

    [Fact]
    public void Sleeping_hours_that_start_in_a_dst_gap_wake_in_real_time()
    {
        // 02:30 does not exist in New York on 2026-03-08: the instant is the first real one after it, 03:00 EDT.
        var ny = Zone("America/New_York");
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 0, 0, TimeSpan.Zero), BedtimeClock.ToInstant(ny, new DateTime(2026, 3, 8, 2, 30, 0)));
    }

    [Fact]
    public void Baseline_range_spans_whole_local_days_including_a_short_one()
    {
        var ny = Zone("America/New_York");
        var (from, to) = BedtimeClock.BaselineRange(ny, new DateOnly(2026, 3, 10), 7);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 5, 0, 0, TimeSpan.Zero), from);
        Assert.Equal(new DateTimeOffset(2026, 3, 10, 4, 0, 0, TimeSpan.Zero), to);

        // Seven days, one of them 23 hours long.
        Assert.Equal(TimeSpan.FromHours((7 * 24) - 1), to - from);
    }

    [Fact]
    public void Threshold_is_the_multiplier_times_the_larger_of_baseline_and_floor()
    {
        var policy = Policy("UTC", multiplier: 2.5m, floor: 1m);
        Assert.Equal(Money.FromUsd(10m), BedtimeClock.Threshold(policy, Money.FromUsd(4m)));
        Assert.Equal(Money.FromUsd(2.5m), BedtimeClock.Threshold(policy, Money.FromUsd(0.10m)));
        Assert.Equal(Money.FromNano(3), BedtimeClock.Mean(Money.FromNano(22), 7));
    }

    [Theory]
    [InlineData("23:00-07:00", true)]
    [InlineData("01:30-05:45", true)]
    [InlineData("7-23", false)]
    [InlineData("23:00", false)]
    [InlineData("25:00-07:00", false)]
    [InlineData("07:00-07:00", false)]
    public void Hours_parse_only_as_two_distinct_24_hour_times(string text, bool valid) =>
        Assert.Equal(valid, BedtimeClock.TryParseHours(text, out _, out _));
}
