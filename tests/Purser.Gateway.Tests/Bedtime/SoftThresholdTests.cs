using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Bedtime;

/// <summary>Soft thresholds (50/80/100% by default) fire once per window, however many concurrent requests cross them.</summary>
public sealed class SoftThresholdTests : IAsyncLifetime
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
        var first = await _fixture.EventsAsync("budget.threshold", "key:alerted", 3);
        await Task.Delay(200);
        first = await _fixture.EventsAsync("budget.threshold", "key:alerted", 3);
        Assert.Equal(3, first.Count);
        foreach (var percent in new[] { "50%", "80%", "100%" })
        {
            Assert.Single(first, e => e["message"]!.GetValue<string>().Contains(" " + percent, StringComparison.Ordinal));
        }

        Assert.Single(first.Select(e => e["window"]!.GetValue<string>()).Distinct());

        // The next daily window fires each threshold once more, and only once.
        _fixture.Time.Advance(TimeSpan.FromDays(1));
        await BurstAsync(secret, body, 40);
        var both = await _fixture.EventsAsync("budget.threshold", "key:alerted", 6);
        await Task.Delay(200);
        both = await _fixture.EventsAsync("budget.threshold", "key:alerted", 6);
        Assert.Equal(6, both.Count);
        Assert.Equal(2, both.Select(e => e["window"]!.GetValue<string>()).Distinct().Count());
    }
}
