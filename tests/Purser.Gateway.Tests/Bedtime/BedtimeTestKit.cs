using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Purser.Gateway.Budgets;
using Purser.Gateway.Telemetry;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Tests.Bedtime;

/// <summary>Helpers for tests that run their own gateway on a fake clock: admin calls, seeded usage history, event polling.</summary>
internal static class BedtimeTestKit
{
    public static async Task<BudgetFixture> StartAsync(DateTimeOffset utc)
    {
        var fixture = new BudgetFixture(utc);
        await fixture.InitializeAsync();
        return fixture;
    }

    public static async Task<(HttpResponseMessage Response, JsonObject Json)> AdminAsync(this BudgetFixture fixture, HttpMethod method, string path, JsonObject? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BudgetFixture.AdminSecret);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, JsonNode.Parse(text)!.AsObject());
    }

    /// <summary>Writes usage records of <paramref name="usd"/> for the key at each instant, as if requests had settled then.</summary>
    public static async Task SeedSpendAsync(this BudgetFixture fixture, string keyId, decimal usd, params DateTimeOffset[] at)
    {
        var sink = fixture.Gateway.Services.GetRequiredService<IUsageSink>();
        foreach (var instant in at)
        {
            sink.Record(new UsageRecord
            {
                RequestId = "seed-" + Guid.NewGuid().ToString("N"),
                Timestamp = instant,
                KeyId = keyId,
                ModelAlias = "sim-chat",
                Operation = "chat",
                Cost = Money.FromUsd(usd),
                Status = 200,
            });
        }

        await fixture.Gateway.FlushUsageAsync();
    }

    /// <summary>The events of one type for a scope, polled a bounded number of times until at least <paramref name="atLeast"/> exist.</summary>
    public static async Task<List<JsonObject>> EventsAsync(this BudgetFixture fixture, string type, string scope, int atLeast = 1)
    {
        var found = new List<JsonObject>();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var (_, json) = await fixture.AdminAsync(HttpMethod.Get, $"/admin/events?type={type}&scope={scope}");
            found = json["data"]!.AsArray().Select(e => e!.AsObject()).ToList();
            if (found.Count >= atLeast)
            {
                break;
            }

            await Poll.NextAsync(50);
        }

        return found;
    }

    /// <summary>
    /// A signal instead of a sleep: waits until every budget event of the key's <paramref name="requests"/> finished
    /// requests is written. Each request queues its events before its usage record, and the events' one writer writes
    /// in order, so once the records are in and a marker queued behind them is in the store, so is everything before it.
    /// </summary>
    public static async Task EventsWrittenAsync(this BudgetFixture fixture, string keyId, int requests)
    {
        for (var attempt = 0; (await fixture.UsageOfKeyAsync(keyId)).Count < requests; attempt++)
        {
            Assert.True(attempt < 200, $"the {requests} usage records of {keyId} were not written within 10 s");
            await Poll.NextAsync(50);
        }

        var marker = "events-written-" + Guid.NewGuid().ToString("N");
        var subject = new CallSubject(marker, marker, "chat", marker, "test", "test");
        fixture.Gateway.Services.GetRequiredService<BudgetEvents>().Ensemble(subject, "test marker");
        Assert.Single(await fixture.EventsAsync("ensemble.degraded", "key:" + marker));
    }

    public static async Task<(int Status, JsonObject? Error)> ChatAsync(this BudgetFixture fixture, string secret)
    {
        using var response = await fixture.Http.SendAsync(fixture.Chat(secret, BudgetFixture.ChatBody(16)));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, response.IsSuccessStatusCode ? null : JsonNode.Parse(text)!["error"]!.AsObject());
    }

    /// <summary>A day's worth of instants: one per previous local day at noon UTC.</summary>
    public static DateTimeOffset[] PreviousDays(DateTimeOffset now, int days) =>
        Enumerable.Range(1, days).Select(d => new DateTimeOffset(now.UtcDateTime.Date.AddDays(-d).AddHours(12), TimeSpan.Zero)).ToArray();
}
