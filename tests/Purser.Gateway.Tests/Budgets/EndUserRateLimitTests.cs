using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Purser.Gateway.Budgets;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// <c>user:*</c> rate limits on a fake clock: each end user (x-budget-user) has their own requests counter under the
/// limit's key; callers of other keys and callers naming no end user are not under it; the number of end users a limit
/// counts is bounded by server.max_end_users_per_budget (a new one past it is a 403 end_user_limit_reached, the ones
/// already counted go on); and the same limit made through the admin API.
/// </summary>
public sealed class EndUserRateLimitTests : IAsyncLifetime
{
    private const string Yaml = """
        keys:
          - { id: eu-app, secret: sk-eu-app }
          - { id: eu-other, secret: sk-eu-other }
          - { id: eu-many, secret: sk-eu-many }
        rate_limits:
          - { id: per-user-rpm, scope: "user:*", under: "key:eu-app", requests_per_minute: 2 }
          - { id: per-user-wide, scope: "user:*", under: "key:eu-many", requests_per_minute: 100 }
        """;

    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), extraYaml: Yaml);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task Two_end_users_have_separate_requests_counters()
    {
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-app", "alice"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-app", "alice"));
        using (var refused = await SendAsync("sk-eu-app", "alice"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("requests_per_minute_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
            Assert.Equal("30", string.Join(",", refused.Headers.GetValues("retry-after")));
        }

        // Bob's counter is his own: alice spending hers leaves his whole.
        using (var bob = await SendAsync("sk-eu-app", "bob"))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
            Assert.Equal("1", string.Join(",", bob.Headers.GetValues("x-ratelimit-remaining-requests")));
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-app", "bob"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync("sk-eu-app", "bob"));

        // Not under the limit: another key's alice, and a caller of the key naming no end user.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-other", "alice"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-app", null));
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-app", "alice"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync("sk-eu-app", "alice"));
        Assert.Equal(2, _fixture.Gateway.Services.GetRequiredService<RateLimiter>().EndUsersOf("per-user-rpm"));
    }

    [Fact]
    public async Task A_new_end_user_past_the_bound_is_refused_and_the_counted_ones_go_on()
    {
        for (var i = 1; i <= BudgetFixture.MaxEndUsersPerBudget; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-many", "user-" + i));
        }

        using (var refused = await SendAsync("sk-eu-many", "one-too-many"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
            Assert.Equal("end_user_limit_reached", error["code"]!.GetValue<string>());
            Assert.Equal("x-budget-user", error["param"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync("sk-eu-many", "user-1"));
        Assert.Equal(BudgetFixture.MaxEndUsersPerBudget, _fixture.Gateway.Services.GetRequiredService<RateLimiter>().EndUsersOf("per-user-wide"));

        // The refused end user left a usage record at $0 and nothing else.
        var records = await _fixture.UsageOfKeyAsync("eu-many");
        Assert.Single(records, r => r.Status == 403 && r.Cost.NanoUsd == 0);
    }

    [Fact]
    public async Task A_user_template_limit_made_through_the_api_round_trips_and_applies_per_end_user()
    {
        var secret = await _fixture.CreateKeyAsync("eu-api");
        using (var put = await AdminAsync(HttpMethod.Put, "/admin/rate-limits/api-per-user", """{"scope":"user:*","under":"key:eu-api","requests_per_minute":1}"""))
        {
            var saved = await BudgetFixture.ReadJsonAsync(put);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal("user:*", saved["scope"]!.GetValue<string>());
            Assert.Equal("key:eu-api", saved["under"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, "carol"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await StatusAsync(secret, "carol"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, "dave"));
    }

    [Theory]
    [InlineData("""{"scope":"key:eu-app","under":"key:eu-app","requests_per_minute":1}""")]
    [InlineData("""{"scope":"user:*","under":"org:acme","requests_per_minute":1}""")]
    [InlineData("""{"scope":"user:*","under":"key:nobody","requests_per_minute":1}""")]
    [InlineData("""{"scope":"user:*","under":7,"requests_per_minute":1}""")]
    public async Task A_wrong_under_is_a_400_naming_it(string body)
    {
        using var response = await AdminAsync(HttpMethod.Put, "/admin/rate-limits/bad-under", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("under", (await BudgetFixture.ReadJsonAsync(response))["error"]!["param"]!.GetValue<string>());
    }

    private async Task<HttpStatusCode> StatusAsync(string secret, string? user)
    {
        using var response = await SendAsync(secret, user);
        return response.StatusCode;
    }

    private Task<HttpResponseMessage> SendAsync(string secret, string? user) =>
        _fixture.Http.SendAsync(user is null
            ? _fixture.Chat(secret, BudgetFixture.ChatBody(20))
            : _fixture.Chat(secret, BudgetFixture.ChatBody(20), ("x-budget-user", user)));

    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, string body)
    {
        var request = new HttpRequestMessage(method, path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BudgetFixture.AdminSecret);
        return _fixture.Http.SendAsync(request);
    }
}
