using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Bedtime;

/// <summary>
/// Bedtime Mode end to end: a gateway on a fake clock, a key with a policy in Europe/Oslo (UTC+1 in November), a
/// baseline of $1 a day over the previous 7 days seeded as usage records, and today's spend seeded or earned.
/// </summary>
public sealed class BedtimeModeTests : IAsyncLifetime
{
    private readonly List<BudgetFixture> _started = [];

    /// <summary>02:00 in Oslo.</summary>
    private static readonly DateTimeOffset TwoAm = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    /// <summary>14:00 in Oslo.</summary>
    private static readonly DateTimeOffset TwoPm = new(2026, 11, 24, 13, 0, 0, TimeSpan.Zero);

    /// <summary>00:30 in Oslo on the 24th: the start of the local day, in UTC.</summary>
    private static readonly DateTimeOffset JustAfterLocalMidnight = new(2026, 11, 23, 23, 30, 0, TimeSpan.Zero);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var fixture in _started)
        {
            await fixture.DisposeAsync();
        }
    }

    private async Task<BudgetFixture> StartAsync(DateTimeOffset utc)
    {
        var fixture = await BedtimeTestKit.StartAsync(utc);
        _started.Add(fixture);
        return fixture;
    }

    private static async Task<string> KeyWithPolicyAsync(BudgetFixture fixture, string id, decimal floorUsd = 0.01m, string? degradeModel = null)
    {
        var secret = await fixture.CreateKeyAsync(id);
        var policy = new JsonObject { ["timezone"] = "Europe/Oslo", ["floor_usd"] = floorUsd.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (degradeModel is not null)
        {
            policy["degrade_model"] = degradeModel;
        }

        var (response, json) = await fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/key:" + id, policy);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return secret;
    }

    [Fact]
    public async Task Spend_at_twice_the_baseline_at_two_am_trips_the_key_with_a_402()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "owl");
        await fixture.SeedSpendAsync("owl", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("owl", 2m, JustAfterLocalMidnight);

        var (status, error) = await fixture.ChatAsync(secret);

        Assert.Equal(402, status);
        Assert.Equal("bedtime_mode_active", error!["code"]!.GetValue<string>());
        Assert.Equal("budget_exceeded", error["type"]!.GetValue<string>());
        Assert.Equal("key:owl", error["scope"]!.GetValue<string>());
        Assert.Equal("2", error["limit"]!.GetValue<string>());
        Assert.Equal("2026-11-24T06:00:00Z", error["resets_at"]!.GetValue<string>());
        var trips = await fixture.EventsAsync("bedtime.tripped", "key:owl");
        Assert.Single(trips);
    }

    [Fact]
    public async Task Settled_requests_keep_todays_spend_current_so_the_crossing_request_trips_the_next_one()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "creeper");
        await fixture.SeedSpendAsync("creeper", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));

        // One nano-dollar under the threshold: the next request is admitted, and its cost crosses it.
        await fixture.SeedSpendAsync("creeper", 1.999999999m, JustAfterLocalMidnight);
        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);

        var (status, error) = await fixture.ChatAsync(secret);
        Assert.Equal(402, status);
        Assert.Equal("bedtime_mode_active", error!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_same_spend_at_two_pm_does_not_trip_but_it_does_at_bedtime()
    {
        var fixture = await StartAsync(TwoPm);
        var secret = await KeyWithPolicyAsync(fixture, "lark");
        await fixture.SeedSpendAsync("lark", 1m, BedtimeTestKit.PreviousDays(TwoPm, 7));
        await fixture.SeedSpendAsync("lark", 2m, JustAfterLocalMidnight);

        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);

        // 23:30 in Oslo, the same local day: sleeping hours, and the day's spend is over the threshold.
        fixture.Time.Advance(TimeSpan.FromHours(9.5));
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);
    }

    [Fact]
    public async Task Spend_under_the_floor_does_not_trip_a_quiet_key()
    {
        var fixture = await StartAsync(TwoAm);

        // No history: the baseline is $0, so the floor of $5 governs and the threshold is $10.
        var secret = await KeyWithPolicyAsync(fixture, "newbie", floorUsd: 5m);
        await fixture.SeedSpendAsync("newbie", 9m, JustAfterLocalMidnight);

        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
        var (_, list) = await fixture.AdminAsync(HttpMethod.Get, "/admin/bedtime");
        var state = list["data"]!.AsArray().Single(p => p!["scope"]!.GetValue<string>() == "key:newbie")!;
        Assert.False(state["tripped"]!.GetValue<bool>());
        Assert.Equal("10", state["threshold_usd"]!.GetValue<string>());
        Assert.Equal("0", state["baseline_usd"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tripped_key_wakes_by_itself_at_wake_time_with_an_event()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "sleeper");
        await fixture.SeedSpendAsync("sleeper", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("sleeper", 3m, JustAfterLocalMidnight);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);

        // 06:59 Oslo: still asleep. 07:00: awake, and the sweep raised the wake event without any request.
        fixture.Time.Advance(TimeSpan.FromMinutes((5 * 60) - 1));
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        var wakes = await fixture.EventsAsync("bedtime.woke", "key:sleeper");
        Assert.Single(wakes);
        Assert.Contains("wake time", wakes[0]["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
    }

    [Fact]
    public async Task An_operator_wakes_a_tripped_key_for_the_rest_of_the_night()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "insomniac");
        await fixture.SeedSpendAsync("insomniac", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("insomniac", 3m, JustAfterLocalMidnight);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);

        var (response, json) = await fixture.AdminAsync(HttpMethod.Post, "/admin/bedtime/key:insomniac/wake");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(json["was_tripped"]!.GetValue<bool>());

        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
        fixture.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
        var wakes = await fixture.EventsAsync("bedtime.woke", "key:insomniac");
        Assert.Contains("operator", wakes[0]["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operators_wake_survives_another_operators_unrelated_change()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "night-owl");
        await fixture.SeedSpendAsync("night-owl", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("night-owl", 3m, JustAfterLocalMidnight);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fixture.AdminAsync(HttpMethod.Post, "/admin/bedtime/key:night-owl/wake")).Response.StatusCode);

        // Every admin change reloads the stored policies (from any instance); an unchanged policy keeps its watch.
        await fixture.CreateKeyAsync("bystander");
        await KeyWithPolicyAsync(fixture, "other-owl");

        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
    }

    [Fact]
    public async Task A_spring_forward_night_wakes_at_seven_local_daylight_time()
    {
        // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT; 01:30 EST is 06:30 UTC and 07:00 EDT is 11:00 UTC.
        var start = new DateTimeOffset(2026, 3, 8, 6, 30, 0, TimeSpan.Zero);
        var fixture = await StartAsync(start);
        var secret = await fixture.CreateKeyAsync("dst");
        var (put, putJson) = await fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/key:dst", new JsonObject { ["timezone"] = "America/New_York", ["floor_usd"] = "0.01" });
        Assert.True(put.IsSuccessStatusCode, putJson.ToJsonString());

        // $1 a day over 7 local days, one of which (today, the 8th) is 23 hours long; today's spend since local midnight (05:00 UTC).
        await fixture.SeedSpendAsync("dst", 1m, BedtimeTestKit.PreviousDays(start, 7));
        await fixture.SeedSpendAsync("dst", 2m, new DateTimeOffset(2026, 3, 8, 5, 30, 0, TimeSpan.Zero));
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);

        fixture.Time.Advance(new DateTimeOffset(2026, 3, 8, 10, 59, 0, TimeSpan.Zero) - start);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
    }

    [Fact]
    public async Task A_tripped_key_with_a_degrade_model_is_served_by_it()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "dimmed", degradeModel: "sim-mini");
        await fixture.SeedSpendAsync("dimmed", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("dimmed", 3m, JustAfterLocalMidnight);

        using var response = await fixture.Http.SendAsync(fixture.Chat(secret, BudgetFixture.ChatBody(16)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("model=sim-mini", response.Headers.GetValues("x-bedtime-degraded").Single());
    }

    [Theory]
    [InlineData("timezone", "\"Mars/Olympus\"")]
    [InlineData("hours", "\"bedtime\"")]
    [InlineData("multiplier", "1")]
    [InlineData("multiplier", "0.9")]
    [InlineData("baseline_days", "0")]
    [InlineData("floor_usd", "\"-2\"")]
    [InlineData("degrade_model", "\"nope\"")]
    public async Task Bad_bedtime_settings_are_a_400_naming_the_field(string field, string value)
    {
        var fixture = await StartAsync(TwoPm);
        await fixture.CreateKeyAsync("picky");
        var body = JsonNode.Parse("{\"" + field + "\":" + value + "}")!.AsObject();
        var (response, json) = await fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/key:picky", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, json["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_policy_on_an_unknown_scope_is_a_400()
    {
        var fixture = await StartAsync(TwoPm);
        var (response, json) = await fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/key:ghost", []);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("scope", json["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_team_policy_sums_its_keys_and_trips_every_key_of_the_team()
    {
        var fixture = await StartAsync(TwoAm);
        var first = await fixture.CreateKeyAsync("team-a", team: "wide-team");
        var second = await fixture.CreateKeyAsync("team-b", team: "wide-team");
        var (put, putJson) = await fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/team:wide-team", new JsonObject { ["timezone"] = "Europe/Oslo", ["floor_usd"] = "0.01" });
        Assert.True(put.IsSuccessStatusCode, putJson.ToJsonString());

        // Baseline: $1 a day across the two keys; tonight each key spent $1, together twice the baseline.
        await fixture.SeedSpendAsync("team-a", 0.5m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("team-b", 0.5m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("team-a", 1m, JustAfterLocalMidnight);
        await fixture.SeedSpendAsync("team-b", 1m, JustAfterLocalMidnight);

        var (status, error) = await fixture.ChatAsync(first);
        Assert.Equal(402, status);
        Assert.Equal("team:wide-team", error!["scope"]!.GetValue<string>());
        Assert.Equal(402, (await fixture.ChatAsync(second)).Status);
    }

    [Fact]
    public async Task Policies_are_listed_with_their_state_and_deleting_one_lifts_the_trip()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "listed");
        await fixture.SeedSpendAsync("listed", 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        await fixture.SeedSpendAsync("listed", 2.5m, JustAfterLocalMidnight);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);

        var (_, list) = await fixture.AdminAsync(HttpMethod.Get, "/admin/bedtime");
        var state = list["data"]!.AsArray().Single(p => p!["scope"]!.GetValue<string>() == "key:listed")!;
        Assert.True(state["sleeping"]!.GetValue<bool>());
        Assert.True(state["tripped"]!.GetValue<bool>());
        Assert.Equal("23:00-07:00", state["hours"]!.GetValue<string>());
        Assert.Equal("2", state["multiplier"]!.GetValue<string>());
        Assert.Equal("1", state["baseline_usd"]!.GetValue<string>());
        Assert.Equal("2.5", state["today_usd"]!.GetValue<string>());
        Assert.Equal("api", state["source"]!.GetValue<string>());

        var (deleted, _) = await fixture.AdminAsync(HttpMethod.Delete, "/admin/bedtime/key:listed");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(200, (await fixture.ChatAsync(secret)).Status);
    }

    [Fact]
    public async Task Events_are_filtered_by_type_scope_and_time()
    {
        var fixture = await StartAsync(TwoAm);
        var secret = await KeyWithPolicyAsync(fixture, "filtered");
        await fixture.SeedSpendAsync("filtered", 5m, JustAfterLocalMidnight);
        Assert.Equal(402, (await fixture.ChatAsync(secret)).Status);
        Assert.Single(await fixture.EventsAsync("bedtime.tripped", "key:filtered"));

        var (_, before) = await fixture.AdminAsync(HttpMethod.Get, "/admin/events?type=bedtime.tripped&scope=key:filtered&to=2026-11-24T00:59:00Z");
        Assert.Empty(before["data"]!.AsArray());
        var (_, during) = await fixture.AdminAsync(HttpMethod.Get, "/admin/events?type=bedtime.tripped&scope=key:filtered&from=2026-11-24T00:59:00Z&to=2026-11-24T01:01:00Z");
        Assert.Single(during["data"]!.AsArray());
        var (bad, badJson) = await fixture.AdminAsync(HttpMethod.Get, "/admin/events?from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("from", badJson["error"]!["param"]!.GetValue<string>());
    }
}
