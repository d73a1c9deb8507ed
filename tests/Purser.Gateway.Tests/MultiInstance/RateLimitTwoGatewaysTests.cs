using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Two gateway processes on one PostgreSQL database enforce one rate limit: each spends slices of the shared bucket,
/// so together they admit no more than the limit plus its refill over the elapsed time (the documented bound; over the
/// limit by nothing), and idle slices held by one instance cost the other at most a slice each.
/// </summary>
public sealed class RateLimitTwoGatewaysTests : IAsyncLifetime
{
    private const int PerMinute = 30;

    // A slice is a tenth of the minute's allowance.
    private const int Slice = PerMinute / 10;

    private TwoGateways _gateways = null!;

    public async Task InitializeAsync() => _gateways = await TwoGateways.StartAsync();

    public async Task DisposeAsync() => await _gateways.DisposeAsync();

    [Fact]
    public async Task Two_instances_share_one_requests_limit_within_the_documented_bound()
    {
        var created = await _gateways.AdminAsync(_gateways.A, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = "shared" }, HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        await _gateways.AdminAsync(_gateways.A, HttpMethod.Put, "/admin/rate-limits/shared-rpm",
            new JsonObject { ["scope"] = "key:shared", ["requests_per_minute"] = PerMinute }, HttpStatusCode.OK);

        // B learns of the limit through the change feed: poll its admin API (bounded), then it must list it.
        var seen = false;
        for (var i = 0; i < 200 && !seen; i++)
        {
            var listed = await _gateways.AdminAsync(_gateways.B, HttpMethod.Get, "/admin/rate-limits", null, HttpStatusCode.OK);
            seen = listed["data"]!.AsArray().Any(d => d!["id"]!.GetValue<string>() == "shared-rpm");
            if (!seen)
            {
                await Poll.NextAsync(25);
            }
        }

        Assert.True(seen, "the limit set on A never reached B");

        var clock = RealClock.Start();
        var admitted = new int[2];
        var refused = 0;
        for (var i = 0; i < 2 * PerMinute; i++)
        {
            var gateway = i % 2 == 0 ? _gateways.A : _gateways.B;
            using var response = await ChatAsync(gateway, secret);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                admitted[i % 2]++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
                var body = await response.Content.ReadAsStringAsync();
                Assert.Contains("requests_per_minute_exceeded", body, StringComparison.Ordinal);
                Assert.Equal(PerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-ratelimit-limit-requests").Single());
                Assert.True(response.Headers.Contains("retry-after-ms"));
                refused++;
            }
        }

        var elapsed = clock.Elapsed;
        var total = admitted[0] + admitted[1];

        // The bound: one minute's allowance plus what the shared bucket refilled meanwhile, however the two split it.
        var bound = PerMinute + (int)Math.Ceiling(PerMinute * elapsed.TotalMinutes);
        Assert.InRange(total, PerMinute - (2 * Slice), bound);
        Assert.True(admitted[0] > 0 && admitted[1] > 0, $"A admitted {admitted[0]}, B {admitted[1]}");
        Assert.True(refused > 0);
    }

    private Task<HttpResponseMessage> ChatAsync(GatewayProcess gateway, string secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent("""{"model":"sim-chat","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return _gateways.Http.SendAsync(request);
    }
}
