using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// A <c>user:*</c> rate limit on two gateway processes sharing PostgreSQL: each end user's requests counter is one
/// shared bucket of their own, so alice sending through both instances is held to her limit plus its refill over the
/// elapsed time, while bob's counter stays whole.
/// </summary>
public sealed class EndUserRateLimitTwoGatewaysTests : IAsyncLifetime
{
    private const int PerMinute = 10;

    private TwoGateways _gateways = null!;

    public async Task InitializeAsync() => _gateways = await TwoGateways.StartAsync();

    public async Task DisposeAsync() => await _gateways.DisposeAsync();

    [Fact]
    public async Task Each_end_user_has_one_shared_counter_across_instances()
    {
        var created = await _gateways.AdminAsync(_gateways.A, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = "app" }, HttpStatusCode.Created);
        var secret = created["secret"]!.GetValue<string>();
        await _gateways.AdminAsync(_gateways.A, HttpMethod.Put, "/admin/rate-limits/per-user",
            new JsonObject { ["scope"] = "user:*", ["under"] = "key:app", ["requests_per_minute"] = PerMinute }, HttpStatusCode.OK);

        var seen = false;
        for (var i = 0; i < 200 && !seen; i++)
        {
            var listed = await _gateways.AdminAsync(_gateways.B, HttpMethod.Get, "/admin/rate-limits", null, HttpStatusCode.OK);
            seen = listed["data"]!.AsArray().Any(d => d!["id"]!.GetValue<string>() == "per-user");
            if (!seen)
            {
                await Poll.NextAsync(25);
            }
        }

        Assert.True(seen, "the limit set on A never reached B");

        var clock = RealClock.Start();
        var alice = 0;
        for (var i = 0; i < 3 * PerMinute; i++)
        {
            using var response = await ChatAsync(i % 2 == 0 ? _gateways.A : _gateways.B, secret, "alice");
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, response.StatusCode.ToString());
            alice += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        var bound = PerMinute + (int)Math.Ceiling(PerMinute * clock.Elapsed.TotalMinutes);
        Assert.InRange(alice, 1, bound);

        // Bob's bucket is his own: alice emptying hers leaves it full on either instance.
        using var bob = await ChatAsync(_gateways.B, secret, "bob");
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
    }

    private Task<HttpResponseMessage> ChatAsync(GatewayProcess gateway, string secret, string user)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent("""{"model":"sim-chat","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        request.Headers.Add("x-budget-user", user);
        return _gateways.Http.SendAsync(request);
    }
}
