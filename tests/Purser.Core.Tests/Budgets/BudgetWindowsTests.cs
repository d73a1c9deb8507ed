using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;

namespace Purser.Core.Tests.Budgets;

public sealed class BudgetWindowsTests
{
    private static TimeZoneInfo Zone(string id)
    {
        Assert.True(BudgetWindows.TryFindZone(id, out var zone), id);
        return zone;
    }

    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0)
        => new(year, month, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void Daily_window_turns_over_at_local_midnight_in_oslo_not_at_utc_midnight()
    {
        var oslo = Zone("Europe/Oslo");

        var before = BudgetWindows.Current(BudgetWindowKind.Daily, oslo, new DateTimeOffset(2026, 11, 24, 23, 59, 59, TimeSpan.FromHours(1)));
        var after = BudgetWindows.Current(BudgetWindowKind.Daily, oslo, new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.FromHours(1)));

        Assert.Equal(new WindowInstance("2026-11-24", Utc(2026, 11, 23, 23), Utc(2026, 11, 24, 23)), before);
        Assert.Equal(new WindowInstance("2026-11-25", Utc(2026, 11, 24, 23), Utc(2026, 11, 25, 23)), after);
    }

    [Fact]
    public void Daily_window_in_utc_is_the_utc_calendar_day()
    {
        var window = BudgetWindows.Current(BudgetWindowKind.Daily, Zone("UTC"), Utc(2026, 11, 24, 23, 30));

        Assert.Equal(new WindowInstance("2026-11-24", Utc(2026, 11, 24), Utc(2026, 11, 25)), window);
    }

    [Fact]
    public void Monthly_window_turns_over_from_january_31_to_february_1_at_local_midnight()
    {
        var oslo = Zone("Europe/Oslo");

        var january = BudgetWindows.Current(BudgetWindowKind.Monthly, oslo, Utc(2026, 1, 31, 22, 59, 59));
        var february = BudgetWindows.Current(BudgetWindowKind.Monthly, oslo, Utc(2026, 1, 31, 23));

        Assert.Equal(new WindowInstance("2026-01", Utc(2025, 12, 31, 23), Utc(2026, 1, 31, 23)), january);
        Assert.Equal(new WindowInstance("2026-02", Utc(2026, 1, 31, 23), Utc(2026, 2, 28, 23)), february);
    }

    [Fact]
    public void Monthly_and_daily_windows_turn_over_from_december_to_january_into_the_next_year()
    {
        var newYork = Zone("America/New_York");
        var lastSecond = Utc(2027, 1, 1, 4, 59, 59); // 23:59:59 EST on Dec 31
        var firstSecond = Utc(2027, 1, 1, 5);

        Assert.Equal(new WindowInstance("2026-12", Utc(2026, 12, 1, 5), Utc(2027, 1, 1, 5)), BudgetWindows.Current(BudgetWindowKind.Monthly, newYork, lastSecond));
        Assert.Equal(new WindowInstance("2027-01", Utc(2027, 1, 1, 5), Utc(2027, 2, 1, 5)), BudgetWindows.Current(BudgetWindowKind.Monthly, newYork, firstSecond));
        Assert.Equal("2026-12-31", BudgetWindows.Current(BudgetWindowKind.Daily, newYork, lastSecond).Key);
        Assert.Equal("2027-01-01", BudgetWindows.Current(BudgetWindowKind.Daily, newYork, firstSecond).Key);
    }

    [Fact]
    public void Monthly_window_spanning_a_dst_change_starts_and_ends_at_local_midnight()
    {
        // March 2026 in Oslo starts in CET (+1) and ends in CEST (+2).
        var window = BudgetWindows.Current(BudgetWindowKind.Monthly, Zone("Europe/Oslo"), Utc(2026, 3, 15));

        Assert.Equal(new WindowInstance("2026-03", Utc(2026, 2, 28, 23), Utc(2026, 3, 31, 22)), window);
    }

    [Theory]
    [InlineData("Europe/Oslo", 2026, 3, 29, 23)]
    [InlineData("Europe/Oslo", 2026, 10, 25, 25)]
    [InlineData("America/New_York", 2026, 3, 8, 23)]
    [InlineData("America/New_York", 2026, 11, 1, 25)]
    public void Dst_change_days_are_23_or_25_hours_long(string zoneId, int year, int month, int day, int hours)
    {
        var zone = Zone(zoneId);
        var noon = new DateTime(year, month, day, 12, 0, 0, DateTimeKind.Unspecified);
        var now = new DateTimeOffset(noon, zone.GetUtcOffset(noon));

        var window = BudgetWindows.Current(BudgetWindowKind.Daily, zone, now);

        Assert.Equal(noon.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), window.Key);
        Assert.Equal(TimeSpan.FromHours(hours), window.ResetsAt - window.Start);
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(window.Start, zone).TimeOfDay);
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(window.ResetsAt!.Value, zone).TimeOfDay);
    }

    [Fact]
    public void Day_whose_midnight_dst_skips_starts_at_the_first_valid_local_instant()
    {
        // Santiago, 2024-09-08: at 24:00 on Sep 7 (-04) clocks jump to 01:00 (-03); 00:xx never happens.
        var santiago = Zone("America/Santiago");

        var lastOfSeventh = BudgetWindows.Current(BudgetWindowKind.Daily, santiago, Utc(2024, 9, 8, 3, 59, 59));
        var firstOfEighth = BudgetWindows.Current(BudgetWindowKind.Daily, santiago, Utc(2024, 9, 8, 4));
        var laterOnEighth = BudgetWindows.Current(BudgetWindowKind.Daily, santiago, Utc(2024, 9, 9, 2, 59, 59));

        Assert.Equal(new WindowInstance("2024-09-07", Utc(2024, 9, 7, 4), Utc(2024, 9, 8, 4)), lastOfSeventh);
        Assert.Equal(new WindowInstance("2024-09-08", Utc(2024, 9, 8, 4), Utc(2024, 9, 9, 3)), firstOfEighth);
        Assert.Equal(firstOfEighth, laterOnEighth);
        Assert.Equal(new TimeSpan(1, 0, 0), TimeZoneInfo.ConvertTime(firstOfEighth.Start, santiago).TimeOfDay);
    }

    [Fact]
    public void Day_whose_midnight_happens_twice_starts_at_the_first_and_keeps_one_key()
    {
        // Havana, 2024-11-03: at 01:00 CDT clocks go back to 00:00 CST, so 00:00-00:59 happens twice.
        var havana = Zone("America/Havana");

        var firstMidnight = BudgetWindows.Current(BudgetWindowKind.Daily, havana, Utc(2024, 11, 3, 4, 30));
        var secondMidnight = BudgetWindows.Current(BudgetWindowKind.Daily, havana, Utc(2024, 11, 3, 5, 30));
        var previous = BudgetWindows.Current(BudgetWindowKind.Daily, havana, Utc(2024, 11, 3, 3, 59, 59));

        Assert.Equal(new WindowInstance("2024-11-03", Utc(2024, 11, 3, 4), Utc(2024, 11, 4, 5)), firstMidnight);
        Assert.Equal(firstMidnight, secondMidnight);
        Assert.Equal(Utc(2024, 11, 3, 4), previous.ResetsAt);
    }

    [Fact]
    public void Month_whose_first_midnight_dst_skips_starts_at_the_first_valid_local_instant()
    {
        // Havana, 2012-04-01: at 24:00 on Mar 31 (CST, -5) clocks jumped to 01:00 CDT (-4).
        var havana = Zone("America/Havana");

        var march = BudgetWindows.Current(BudgetWindowKind.Monthly, havana, Utc(2012, 4, 1, 4, 59, 59));
        var april = BudgetWindows.Current(BudgetWindowKind.Monthly, havana, Utc(2012, 4, 1, 5));
        var firstDay = BudgetWindows.Current(BudgetWindowKind.Daily, havana, Utc(2012, 4, 1, 5));

        Assert.Equal(new WindowInstance("2012-03", Utc(2012, 3, 1, 5), Utc(2012, 4, 1, 5)), march);
        Assert.Equal(new WindowInstance("2012-04", Utc(2012, 4, 1, 5), Utc(2012, 5, 1, 4)), april);
        Assert.Equal(new WindowInstance("2012-04-01", Utc(2012, 4, 1, 5), Utc(2012, 4, 2, 4)), firstDay);
    }

    [Theory]
    [InlineData("Europe/Oslo", 2026, 10, 23)]
    [InlineData("America/New_York", 2026, 3, 6)]
    [InlineData("America/Santiago", 2024, 9, 6)]
    [InlineData("America/Havana", 2024, 11, 1)]
    [InlineData("Australia/Lord_Howe", 2026, 4, 3)]
    [InlineData("Asia/Kolkata", 2026, 6, 1)]
    public void Walking_the_clock_every_instant_lies_in_its_window_and_windows_abut(string zoneId, int year, int month, int day)
    {
        var zone = Zone(zoneId);
        var time = new FakeTimeProvider(Utc(year, month, day));
        var step = TimeSpan.FromMinutes(10);
        var previous = BudgetWindows.Current(BudgetWindowKind.Daily, zone, time.GetUtcNow());
        var keys = new List<string> { previous.Key };

        for (var i = 0; i < 4 * 24 * 6; i++)
        {
            time.Advance(step);
            var now = time.GetUtcNow();
            var window = BudgetWindows.Current(BudgetWindowKind.Daily, zone, now);

            Assert.True(window.Start <= now && now < window.ResetsAt, $"{now:O} outside {window}");
            Assert.Equal(TimeZoneInfo.ConvertTime(now, zone).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), window.Key);
            if (window.Key != previous.Key)
            {
                Assert.Equal(previous.ResetsAt, window.Start);
                Assert.True(now - window.Start < step);
                keys.Add(window.Key);
            }

            previous = window;
        }

        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.InRange(keys.Count, 4, 5);
    }

    [Fact]
    public void Lifetime_window_has_one_key_and_never_resets()
    {
        var early = BudgetWindows.Current(BudgetWindowKind.Lifetime, Zone("Europe/Oslo"), Utc(2020, 1, 1));
        var late = BudgetWindows.Current(BudgetWindowKind.Lifetime, Zone("UTC"), Utc(2040, 6, 30));

        Assert.Equal("lifetime", early.Key);
        Assert.Null(early.ResetsAt);
        Assert.Equal(early, late);
    }

    [Theory]
    [InlineData("Europe/Oslo")]
    [InlineData("UTC")]
    [InlineData("America/New_York")]
    [InlineData("Asia/Kolkata")]
    public void TryFindZone_finds_iana_zones(string id)
    {
        Assert.True(BudgetWindows.TryFindZone(id, out var zone));
        Assert.NotNull(zone);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Not/AZone")]
    [InlineData("../../etc/passwd")]
    [InlineData("Europe/Oslo\0")]
    [InlineData("/etc/passwd")]
    public void TryFindZone_returns_false_for_unknown_or_malformed_ids(string id)
    {
        Assert.False(BudgetWindows.TryFindZone(id, out var zone));
        Assert.Null(zone);
    }
}
