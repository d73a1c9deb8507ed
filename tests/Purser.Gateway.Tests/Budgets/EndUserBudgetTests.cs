using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// End-user budgets (issue 15): a <c>user:*</c> budget under a key gives each end user named by <c>x-budget-user</c>
/// (or, for a key that trusts it, by the body's user field) a counter of their own, bounded in number, listed top
/// spenders first; the end user and the tags are recorded on the usage record and filter the usage API.
/// </summary>
public sealed class EndUserBudgetTests : IAsyncLifetime
{
    private const string TrustedSecret = "sk-purser-trusted-end-users";
    private const string PlainSecret = "sk-purser-plain-end-users";

    private static readonly long Worst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100), 100);

    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: $$"""
            keys:
              - { id: trusted, hash: "{{KeyHasher.Hash(TrustedSecret)}}", trust_end_user: true, trust_tags: true }
              - { id: plain, hash: "{{KeyHasher.Hash(PlainSecret)}}" }
            budgets:
              - { id: per-user, scope: "user:*", under: "key:trusted", window: daily, cap_usd: {{BudgetFixture.Usd(2 * Worst)}} }
            """);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task<HttpResponseMessage> AskAsync(string secret, string? user, string? body = null, params (string, string)[] headers)
    {
        var all = user is null ? headers : [("x-budget-user", user), .. headers];
        return await _fixture.Http.SendAsync(_fixture.Chat(secret, body ?? BudgetFixture.ChatBody(100), all));
    }

    private async Task<int> ExhaustAsync(string secret, string user)
    {
        for (var i = 1; i <= 50; i++)
        {
            using var response = await AskAsync(secret, user);
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                var error = (await BudgetFixture.ReadJsonAsync(response))["error"]!;
                Assert.Equal("user_cap_exceeded", error["code"]!.GetValue<string>());
                Assert.Equal("user:" + user, error["scope"]!.GetValue<string>());
                return i - 1;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Fail("the end user's budget never ran out");
        return 0;
    }

    private async Task<JsonObject> UsersAsync(string budgetId)
    {
        using var response = await _fixture.SendAdminAsync(HttpMethod.Get, "/admin/budgets/" + budgetId + "/users");
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json;
    }

    [Fact]
    public async Task Two_end_users_of_one_key_have_separate_counters_listed_top_spender_first()
    {
        var servedAlice = await ExhaustAsync(TrustedSecret, "alice@example.com");
        Assert.True(servedAlice >= 2);

        // Alice is out; Bob, on the same key and budget, is not.
        using (var bob = await AskAsync(TrustedSecret, "bob"))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
            Assert.Equal("user:bob", bob.Headers.GetValues("x-budget-scope").Single());
        }

        // A key the budget is not under is not counted per end user.
        using (var other = await AskAsync(PlainSecret, "alice@example.com"))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        var listed = await UsersAsync("per-user");
        var users = listed["data"]!.AsArray();
        Assert.Equal(["alice@example.com", "bob"], users.Select(u => u!["end_user"]!.GetValue<string>()));
        Assert.True(BudgetFixture.Nano(users[0]!["spent"]!.GetValue<string>()) > BudgetFixture.Nano(users[1]!["spent"]!.GetValue<string>()));
        Assert.Equal("0", users[0]!["held"]!.GetValue<string>());

        // Each counter is exactly the sum of its end user's usage records.
        var records = await _fixture.UsageOfKeyAsync("trusted");
        foreach (var user in users)
        {
            var name = user!["end_user"]!.GetValue<string>();
            Assert.Equal(records.Where(r => r.EndUser == name).Sum(r => r.Cost.NanoUsd), BudgetFixture.Nano(user["spent"]!.GetValue<string>()));
        }

        // The usage API filters by end user.
        using var usage = await _fixture.SendAdminAsync(HttpMethod.Get, "/admin/usage?end_user=bob");
        var rows = (await BudgetFixture.ReadJsonAsync(usage))["data"]!.AsArray();
        Assert.Single(rows);
        Assert.Equal("bob", rows[0]!["end_user"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_budget_counts_at_most_the_configured_number_of_end_users_per_window()
    {
        for (var i = 0; i < BudgetFixture.MaxEndUsersPerBudget; i++)
        {
            using var served = await AskAsync(TrustedSecret, "user-" + i);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        using (var refused = await AskAsync(TrustedSecret, "one-too-many"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
            Assert.Equal("end_user_limit_reached", error["code"]!.GetValue<string>());
        }

        // A known end user is still served, and the refused one left no counter.
        using (var known = await AskAsync(TrustedSecret, "user-0"))
        {
            Assert.Equal(HttpStatusCode.OK, known.StatusCode);
        }

        Assert.Equal(BudgetFixture.MaxEndUsersPerBudget, (await UsersAsync("per-user"))["data"]!.AsArray().Count);

        // The next day is a new window: new end users are counted again.
        _fixture.Time.Advance(TimeSpan.FromDays(1));
        using var nextDay = await AskAsync(TrustedSecret, "one-too-many");
        Assert.Equal(HttpStatusCode.OK, nextDay.StatusCode);
    }

    [Fact]
    public async Task The_body_names_the_end_user_only_for_a_key_that_trusts_it()
    {
        const string body = """{"model":"sim-chat","max_tokens":100,"user":"carol","messages":[{"role":"user","content":"hello budget"}]}""";
        using (var trusted = await AskAsync(TrustedSecret, null, body))
        {
            Assert.Equal(HttpStatusCode.OK, trusted.StatusCode);
        }

        using (var plain = await AskAsync(PlainSecret, null, body))
        {
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        }

        // The header wins over the body.
        using (var both = await AskAsync(TrustedSecret, "dave", body))
        {
            Assert.Equal(HttpStatusCode.OK, both.StatusCode);
        }

        Assert.Equal(["carol", "dave"], (await _fixture.UsageOfKeyAsync("trusted")).Select(r => r.EndUser).Order());
        Assert.All(await _fixture.UsageOfKeyAsync("plain"), r => Assert.Null(r.EndUser));

        // A malformed end user in the body of a trusting key is a 400 naming the field.
        const string bad = """{"model":"sim-chat","max_tokens":100,"user":"no spaces please","messages":[{"role":"user","content":"hello budget"}]}""";
        using var refused = await AskAsync(TrustedSecret, null, bad);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("user", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("x-budget-user", "has space")]
    [InlineData("x-budget-user", "")]
    [InlineData("x-budget-user", "semi;colon")]
    [InlineData("x-budget-tags", "a,,b")]
    [InlineData("x-budget-tags", "a,b,c,d,e,f,g,h,i")]
    [InlineData("x-budget-tags", "bad tag")]
    public async Task A_malformed_header_is_a_400_naming_it_and_holds_nothing(string header, string value)
    {
        using var response = await AskAsync(TrustedSecret, null, null, (header, value));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(response))["error"]!;
        Assert.Equal("invalid_budget_header", error["code"]!.GetValue<string>());
        Assert.Equal(header, error["param"]!.GetValue<string>());
        Assert.Empty((await UsersAsync("per-user"))["data"]!.AsArray());
    }

    [Fact]
    public async Task A_repeated_end_user_header_is_a_400_and_tags_from_an_untrusting_key_are_refused()
    {
        using (var twice = await AskAsync(TrustedSecret, "alice", null, ("x-budget-user", "mallory")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
            Assert.Equal("x-budget-user", (await BudgetFixture.ReadJsonAsync(twice))["error"]!["param"]!.GetValue<string>());
        }

        using (var untrusted = await AskAsync(PlainSecret, null, null, ("x-budget-tags", "batch")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, untrusted.StatusCode);
            Assert.Equal("x-budget-tags", (await BudgetFixture.ReadJsonAsync(untrusted))["error"]!["param"]!.GetValue<string>());
        }

        Assert.Empty((await UsersAsync("per-user"))["data"]!.AsArray());
        var records = await _fixture.UsageOfKeyAsync("trusted");
        Assert.All(records, r => Assert.Equal(0, r.Cost.NanoUsd));
    }
}
