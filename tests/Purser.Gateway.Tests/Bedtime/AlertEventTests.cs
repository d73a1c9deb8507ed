using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Purser.Budgets;
using Purser.Pricing;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Bedtime;

/// <summary>Alert events: soft thresholds (50/80/100% by default) once per window under concurrency, and ledger faults.</summary>
public sealed class AlertEventTests : IAsyncLifetime
{
    private BudgetFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await BedtimeTestKit.StartAsync(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task BurstAsync(string secret, string body, int requests) =>
        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, _) =>
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
            Assert.True(response.IsSuccessStatusCode);
        });

    [Fact]
    public async Task Each_default_threshold_fires_exactly_once_per_window_under_concurrent_requests()
    {
        var secret = await _fixture.CreateKeyAsync("alerted");
        var body = BudgetFixture.ChatBody(100);

        // A soft cap of about 5 requests' worst case: 40 concurrent requests cross 50, 80 and 100% many times over.
        await _fixture.PutBudgetAsync("alerted-daily", new JsonObject
        {
            ["scope"] = "key:alerted",
            ["enforcement"] = "soft",
            ["cap_usd"] = BudgetFixture.Usd(BudgetFixture.WorstCaseNano(body, 100) / 2),
        });

        await BurstAsync(secret, body, 40);
        await _fixture.EventsWrittenAsync("alerted", 40);
        var first = await _fixture.EventsAsync("budget.threshold", "key:alerted", 3);
        Assert.Equal(3, first.Count);
        foreach (var percent in new[] { "50%", "80%", "100%" })
        {
            Assert.Single(first, e => e["message"]!.GetValue<string>().Contains(" " + percent, StringComparison.Ordinal));
        }

        Assert.Single(first.Select(e => e["window"]!.GetValue<string>()).Distinct());

        // The next daily window fires each threshold once more, and only once.
        _fixture.Time.Advance(TimeSpan.FromDays(1));
        await BurstAsync(secret, body, 40);
        await _fixture.EventsWrittenAsync("alerted", 80);
        var both = await _fixture.EventsAsync("budget.threshold", "key:alerted", 6);
        Assert.Equal(6, both.Count);
        Assert.Equal(2, both.Select(e => e["window"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public async Task A_hold_that_never_settles_is_charged_and_raises_a_ledger_event()
    {
        var ledger = _fixture.Gateway.Services.GetRequiredService<IBudgetLedger>();
        var line = new HoldLine(new CounterKey("orphan-budget", "2026-11-24"), Money.FromUsd(10m), null, AccountingMode.Reserve, Enforcement.Hard);
        var outcome = await ledger.ReserveAsync(new HoldRequest("orphan-hold", [line], Money.FromUsd(1m), 10, _fixture.Time.GetUtcNow().AddSeconds(30)), CancellationToken.None);
        Assert.True(outcome.Granted);

        List<JsonObject> expired = [];
        for (var i = 0; i < 20 && expired.Count == 0; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(5));
            await Poll.NextAsync(20);
            var (_, json) = await _fixture.AdminAsync(HttpMethod.Get, "/admin/events?type=budget.hold_expired");
            expired = json["data"]!.AsArray().Select(e => e!.AsObject()).ToList();
        }

        Assert.Single(expired);
        Assert.Contains("1 expired", expired[0]["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
