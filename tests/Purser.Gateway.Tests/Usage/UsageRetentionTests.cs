using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Purser.Gateway.Tests.Bedtime;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Gateway.Usage;
using Purser.Usage;

namespace Purser.Gateway.Tests.Usage;

/// <summary>
/// <c>usage.retention_days</c> end to end on a fake clock: the background pass prunes the records past the horizon,
/// and the totals read from the roll-ups (the spend report's endpoint, Bedtime baselines) are the same after it.
/// </summary>
public sealed class UsageRetentionTests : IAsyncLifetime
{
    /// <summary>02:00 in Oslo, where the Bedtime policies below sleep.</summary>
    private static readonly DateTimeOffset TwoAm = new(2026, 11, 24, 1, 0, 0, TimeSpan.Zero);

    private readonly BudgetFixture _fixture = new(TwoAm, extraYaml: "usage:\n  retention_days: 2\n");

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Retention_prunes_past_its_horizon_while_rollups_keep_the_totals_and_bedtime_baselines()
    {
        // Two keys with the same week of history ($1 a day at noon UTC) and the same policy; one computes its
        // baseline before the pruning, the other after it.
        var secrets = new Dictionary<string, string>();
        foreach (var id in (string[])["early", "late"])
        {
            secrets[id] = await _fixture.CreateKeyAsync(id);
            var (put, json) = await _fixture.AdminAsync(HttpMethod.Put, "/admin/bedtime/key:" + id, new JsonObject { ["timezone"] = "Europe/Oslo", ["floor_usd"] = "0.01" });
            Assert.True(put.IsSuccessStatusCode, json.ToJsonString());
            await _fixture.SeedSpendAsync(id, 1m, BedtimeTestKit.PreviousDays(TwoAm, 7));
        }

        Assert.Equal(200, (await _fixture.ChatAsync(secrets["early"])).Status);
        Assert.Equal("1", await BaselineAsync("early"));
        var (_, rollupsBefore) = await _fixture.AdminAsync(HttpMethod.Get, "/admin/usage/rollups?from=2026-11-01&to=2026-11-25");
        var recordsBefore = await _fixture.Gateway.Usage.QueryAsync(new UsageQuery { Limit = 0 }, CancellationToken.None);
        Assert.Equal(15, recordsBefore.Count);

        // The next pass, ten minutes on: records older than two days (from the start of that hour) go.
        var retention = _fixture.Gateway.Services.GetRequiredService<UsageRetention>();
        var passed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        retention.PassCompleted += deleted => passed.TrySetResult(deleted);
        _fixture.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(10, await passed.Task.WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System));

        var horizon = new DateTimeOffset(2026, 11, 22, 1, 0, 0, TimeSpan.Zero);
        var recordsAfter = await _fixture.Gateway.Usage.QueryAsync(new UsageQuery { Limit = 0 }, CancellationToken.None);
        Assert.Equal(5, recordsAfter.Count);
        Assert.All(recordsAfter, r => Assert.True(r.Timestamp >= horizon, r.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(recordsBefore.Where(r => r.Timestamp >= horizon).Select(r => r.RequestId).Order(), recordsAfter.Select(r => r.RequestId).Order());

        // The totals that outlive the records: the roll-ups, hour by hour, and the baseline computed after pruning.
        var (_, rollupsAfter) = await _fixture.AdminAsync(HttpMethod.Get, "/admin/usage/rollups?from=2026-11-01&to=2026-11-25");
        Assert.Equal(rollupsBefore.ToJsonString(), rollupsAfter.ToJsonString());
        // Fourteen seeded days and the early key's request: fifteen, though only five records are left.
        Assert.Equal(15, rollupsAfter["data"]!.AsArray().Where(r => r!["model"]!.GetValue<string>() == "sim-chat" && r["outcome"]!.GetValue<string>() == "ok").Sum(r => r!["requests"]!.GetValue<long>()));
        Assert.Equal(200, (await _fixture.ChatAsync(secrets["late"])).Status);
        Assert.Equal("1", await BaselineAsync("late"));
    }

    private async Task<string> BaselineAsync(string keyId)
    {
        var (_, list) = await _fixture.AdminAsync(HttpMethod.Get, "/admin/bedtime");
        return list["data"]!.AsArray().Single(p => p!["scope"]!.GetValue<string>() == "key:" + keyId)!["baseline_usd"]!.GetValue<string>();
    }
}
