using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// <c>degrade.throttle_rpm</c> through <c>PUT /admin/budgets/{id}</c>: it is stored, listed, PUT back as listed, and a
/// soft budget stored that way throttles once past its cap; a wrong value is a 400 naming the field and stores nothing.
/// </summary>
public sealed class BudgetThrottleAdminApiTests : IAsyncLifetime
{
    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_throttle_put_through_the_api_round_trips_and_throttles_past_the_cap()
    {
        var secret = await _fixture.CreateKeyAsync("api-throttle");
        using (var put = await RawAsync(HttpMethod.Put, "/admin/budgets/api-soft", """{"scope":"key:api-throttle","cap_usd":"0.000001","enforcement":"soft","degrade":{"throttle_rpm":2}}"""))
        {
            var saved = await BudgetFixture.ReadJsonAsync(put);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal(2, saved["degrade"]!["throttle_rpm"]!.GetValue<int>());
        }

        var (_, _, listed) = await _fixture.BudgetStateAsync("api-soft");
        Assert.Equal(2, listed["degrade"]!["throttle_rpm"]!.GetValue<int>());

        // What GET returns may be PUT back as it is, and keeps the throttle.
        using (var back = await RawAsync(HttpMethod.Put, "/admin/budgets/api-soft", listed.ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, back.StatusCode);
            Assert.Equal(2, (await BudgetFixture.ReadJsonAsync(back))["degrade"]!["throttle_rpm"]!.GetValue<int>());
        }

        // The first request is admitted (soft) and spends past the tiny cap; from then on, 2 a minute.
        using (var first = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(20))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.False(first.Headers.Contains("x-budget-throttled"));
        }

        for (var i = 0; i < 2; i++)
        {
            // Each settles before the next is sent, so each sees the budget past its cap.
            Assert.Equal(i + 1, (await _fixture.UsageOfKeyAsync("api-throttle")).Count);
            using var throttled = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(20)));
            Assert.Equal(HttpStatusCode.OK, throttled.StatusCode);
            Assert.Equal("api-soft;rpm=2", Header(throttled, "x-budget-throttled"));
            Assert.Equal((1 - i).ToString(CultureInfo.InvariantCulture), Header(throttled, "x-ratelimit-remaining-requests"));
        }

        Assert.Equal(3, (await _fixture.UsageOfKeyAsync("api-throttle")).Count);
        using (var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(20))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("requests_per_minute_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
            Assert.Equal("api-soft;rpm=2", Header(refused, "x-budget-throttled"));
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        using var later = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(20)));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Theory]
    [InlineData("\"2\"")]
    [InlineData("2.5")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1000001")]
    [InlineData("true")]
    [InlineData("[2]")]
    [InlineData("1e400")]
    public async Task A_wrong_throttle_is_a_400_naming_the_field_and_stores_nothing(string value)
    {
        using var response = await RawAsync(HttpMethod.Put, "/admin/budgets/bad", "{\"scope\":\"global\",\"cap_usd\":\"1\",\"enforcement\":\"soft\",\"degrade\":{\"throttle_rpm\":" + value + "}}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("degrade.throttle_rpm", (await BudgetFixture.ReadJsonAsync(response))["error"]!["param"]!.GetValue<string>());

        using var list = await RawAsync(HttpMethod.Get, "/admin/budgets", null);
        Assert.DoesNotContain((await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray(), b => b!["id"]!.GetValue<string>() == "bad");
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private Task<HttpResponseMessage> RawAsync(HttpMethod method, string path, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BudgetFixture.AdminSecret);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return _fixture.Http.SendAsync(request);
    }
}
