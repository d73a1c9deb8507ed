using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Windows reset exactly at calendar boundaries in the budget's own time zone, with no reset job: the gateway's clock
/// is a fake that the tests move across midnight, a month end and a DST change.
/// </summary>
public sealed class BudgetWindowTests : IAsyncLifetime
{
    // 23:30 in Oslo on the evening before the spring DST change (02:00 → 03:00 local on 29 March 2026).
    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 3, 28, 22, 30, 0, TimeSpan.Zero));

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task<HttpResponseMessage> AskAsync(string secret) =>
        await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(100)));

    private async Task<string> KeyWithBudgetAsync(string id, string window, string timezone, int worstCases)
    {
        var secret = await _fixture.CreateKeyAsync(id);
        var worst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100), 100);
        await _fixture.PutBudgetAsync(id + "-budget", new JsonObject
        {
            ["scope"] = "key:" + id,
            ["window"] = window,
            ["timezone"] = timezone,
            ["cap_usd"] = BudgetFixture.Usd(worstCases * worst),
        });
        return secret;
    }

    private async Task ExhaustAsync(string secret)
    {
        for (var i = 0; i < 50; i++)
        {
            using var response = await AskAsync(secret);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                return;
            }
        }

        Assert.Fail("the budget never ran out");
    }

    [Fact]
    public async Task A_daily_window_resets_at_local_midnight_across_a_dst_change()
    {
        var secret = await KeyWithBudgetAsync("oslo-daily", "daily", "Europe/Oslo", 2);
        await ExhaustAsync(secret);

        using var refused = await AskAsync(secret);
        var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
        Assert.Equal("daily_cap_exceeded", error["code"]!.GetValue<string>());

        // Midnight in Oslo (CET, UTC+1) is 23:00 UTC: the refusal says so, and Retry-After counts down to it.
        Assert.Equal("2026-03-28T23:00:00Z", error["resets_at"]!.GetValue<string>());
        Assert.Equal(1800, int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture));

        _fixture.Time.Advance(TimeSpan.FromMinutes(29));
        using (var stillRefused = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, stillRefused.StatusCode);
        }

        _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        using var served = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);

        // The 29th has 23 hours in Oslo: its window ends at midnight CEST, 22:00 UTC.
        Assert.Equal("2026-03-29T22:00:00Z", served.Headers.GetValues("x-budget-reset").Single());
    }

    [Fact]
    public async Task An_hourly_window_resets_at_the_top_of_the_local_hour()
    {
        // 23:30 in Oslo is 22:30 UTC: the hour ends at 23:00 UTC (midnight local).
        var secret = await KeyWithBudgetAsync("oslo-hourly", "hourly", "Asia/Kolkata", 2);
        await ExhaustAsync(secret);

        // Kolkata is UTC+05:30: 22:30 UTC is 04:00 local, so the local hour ends at 23:30 UTC.
        using var refused = await AskAsync(secret);
        var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
        Assert.Equal("hourly_cap_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("2026-03-28T23:30:00Z", error["resets_at"]!.GetValue<string>());

        _fixture.Time.Advance(TimeSpan.FromMinutes(59) + TimeSpan.FromSeconds(59));
        using (var stillRefused = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, stillRefused.StatusCode);
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        using var served = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("2026-03-29T00:30:00Z", served.Headers.GetValues("x-budget-reset").Single());
    }

    [Fact]
    public async Task A_rolling_hour_counts_spend_for_an_hour_in_one_minute_buckets_and_no_calendar_boundary_resets_it()
    {
        // 22:30 UTC: the spend lands in the bucket [22:30, 22:31). Local midnight (23:00 UTC) passes without a reset.
        var secret = await KeyWithBudgetAsync("rolling", "rolling_1h", "UTC", 2);
        await ExhaustAsync(secret);
        var (spent, held, budget) = await _fixture.BudgetStateAsync("rolling-budget");
        Assert.Equal("rolling_1h", budget["window"]!.GetValue<string>());
        Assert.Equal(0, held);

        using (var refused = await AskAsync(secret))
        {
            var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
            Assert.Equal("rolling_1h_cap_exceeded", error["code"]!.GetValue<string>());
        }

        // At 23:31 the window is the bucket [23:31, 23:32) and the 60 before it, back to 22:31: the spend is out.
        // Until then it counts — across the top of the hour and local midnight.
        _fixture.Time.Advance(TimeSpan.FromMinutes(61) - TimeSpan.FromSeconds(1));
        using (var stillRefused = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, stillRefused.StatusCode);
        }

        Assert.Equal(spent, (await _fixture.BudgetStateAsync("rolling-budget")).Spent);
        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        using (var served = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        // The whole window, as the admin API shows it, is now only the new request; and it is within the cap.
        var after = await _fixture.BudgetStateAsync("rolling-budget");
        var records = await _fixture.UsageOfKeyAsync("rolling");
        Assert.Equal(records.OrderBy(r => r.Timestamp).Last().Cost.NanoUsd, after.Spent);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent + after.Spent);
    }

    [Fact]
    public async Task A_weekly_window_resets_at_local_midnight_on_monday()
    {
        // Saturday 28 March 2026, 23:30 in Oslo: the ISO week ends at Monday 30 March 00:00 CEST = 29 March 22:00 UTC.
        var secret = await KeyWithBudgetAsync("oslo-weekly", "weekly", "Europe/Oslo", 2);
        await ExhaustAsync(secret);
        using var refused = await AskAsync(secret);
        var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
        Assert.Equal("weekly_cap_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("2026-03-29T22:00:00Z", error["resets_at"]!.GetValue<string>());

        _fixture.Time.Advance(TimeSpan.FromHours(23.5) - TimeSpan.FromSeconds(1));
        using (var stillRefused = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, stillRefused.StatusCode);
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        using var served = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task A_monthly_window_resets_at_the_first_of_the_month_in_its_zone()
    {
        var secret = await KeyWithBudgetAsync("ny-monthly", "monthly", "America/New_York", 2);
        await ExhaustAsync(secret);

        // 1 April 00:00 in New York (EDT, UTC-4) is 04:00 UTC.
        var untilApril = new DateTimeOffset(2026, 4, 1, 4, 0, 0, TimeSpan.Zero) - _fixture.Time.GetUtcNow();
        _fixture.Time.Advance(untilApril - TimeSpan.FromSeconds(1));
        using (var refused = await AskAsync(secret))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
            Assert.Equal("monthly_cap_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        using var served = await AskAsync(secret);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("2026-05-01T04:00:00Z", served.Headers.GetValues("x-budget-reset").Single());
    }

    [Fact]
    public async Task A_lifetime_budget_never_resets()
    {
        var secret = await KeyWithBudgetAsync("prepaid", "lifetime", "UTC", 2);
        await ExhaustAsync(secret);
        _fixture.Time.Advance(TimeSpan.FromDays(400));
        using var refused = await AskAsync(secret);
        Assert.Equal("lifetime_cap_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
    }
}
