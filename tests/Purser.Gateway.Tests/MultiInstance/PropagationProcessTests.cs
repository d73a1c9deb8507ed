using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Propagation;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// Two gateway processes on one PostgreSQL database: what an operator changes through the admin API of instance A
/// (keys, caps, routes, Bedtime policies) takes effect on instance B within a second, and still within the fallback
/// period when B's LISTEN connection is killed or an announcement is lost. Every wait is a bounded poll of B's answers.
/// </summary>
public sealed class PropagationProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    // The fallback's bound: one version-check period, plus a reload and a request's worth of slack on a shared machine.
    private static readonly TimeSpan FallbackBound = ChangeListener.PollPeriod + Second;

    private readonly ITestOutputHelper _output;
    private TwoGateways _gateways = null!;

    public PropagationProcessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private GatewayProcess A => _gateways.A;

    private GatewayProcess B => _gateways.B;

    public async Task InitializeAsync()
    {
        _gateways = await TwoGateways.StartAsync();

        // The first request through each process compiles its whole path; the timed waits below measure propagation.
        var warm = await CreateKeyAsync(A, "warm-up");
        await ExpectWithinAsync(A, warm, "sim-chat", HttpStatusCode.OK, TimeSpan.FromSeconds(10), "warm-up on A");
        await ExpectWithinAsync(B, warm, "sim-chat", HttpStatusCode.OK, TimeSpan.FromSeconds(10), "warm-up on B");
    }

    public async Task DisposeAsync() => await _gateways.DisposeAsync();

    [Fact]
    public async Task A_key_created_on_A_works_on_B_within_a_second_and_once_revoked_on_A_is_refused_by_B_within_a_second()
    {
        var secret = await CreateKeyAsync(A, "agent-1");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key created on A served by B");

        await AdminAsync(A, HttpMethod.Delete, "/admin/keys/agent-1", null, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.Unauthorized, Second, "key revoked on A refused by B");
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(A, secret, "sim-chat"));
    }

    [Fact]
    public async Task A_cap_set_on_A_is_enforced_by_B_within_a_second()
    {
        var secret = await CreateKeyAsync(A, "agent-2");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key served by B");

        // A roomy cap first: B serves under it (with leases, the default on PostgreSQL, from a slice it leased).
        await AdminAsync(A, HttpMethod.Put, "/admin/budgets/agent-2-cap", new JsonObject { ["scope"] = "key:agent-2", ["window"] = "daily", ["cap_usd"] = "100" }, HttpStatusCode.OK);
        await ExpectLimitWithinAsync(B, secret, 100m, Second, "roomy cap set on A, in B's x-budget-limit");
        var spent = await _gateways.Postgres.ScalarAsync("SELECT COALESCE(SUM(spent_nano + held_nano), 0) FROM ledger_counters WHERE budget_id = 'agent-2-cap'");
        Assert.True(spent > 0, "B charged nothing to the cap set on A");

        // Then below one request's worst case: in reserve mode B must refuse the next request before it goes upstream.
        await AdminAsync(A, HttpMethod.Put, "/admin/budgets/agent-2-cap", new JsonObject { ["scope"] = "key:agent-2", ["window"] = "daily", ["cap_usd"] = "0.000001" }, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.PaymentRequired, Second, "cap lowered on A enforced by B");

        await AdminAsync(A, HttpMethod.Delete, "/admin/budgets/agent-2-cap", null, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "cap deleted on A lifted on B");
    }

    [Fact]
    public async Task A_route_created_and_deleted_on_A_is_served_and_then_refused_by_B_within_a_second()
    {
        var secret = await CreateKeyAsync(A, "agent-3");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key served by B");
        var unknown = await ChatAsync(B, secret, "fast-lane");
        Assert.True((int)unknown is >= 400 and < 500, "an unknown model must be a 4xx, got " + unknown);

        await AdminAsync(A, HttpMethod.Put, "/admin/routes/fast-lane", new JsonObject { ["targets"] = new JsonArray("sim-chat") }, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "fast-lane", HttpStatusCode.OK, Second, "route created on A served by B");

        await AdminAsync(A, HttpMethod.Delete, "/admin/routes/fast-lane", null, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "fast-lane", unknown, Second, "route deleted on A refused by B");
    }

    [Fact]
    public async Task A_bedtime_policy_set_on_A_trips_on_B_within_a_second_and_its_deletion_lifts_it()
    {
        var secret = await CreateKeyAsync(A, "owl");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key served by B");

        // Asleep now (UTC), with a zero floor and no history: tonight's threshold is $0, so the next request trips it.
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var hours = string.Create(CultureInfo.InvariantCulture, $"{now.AddHours(-1):HH\\:mm}-{now.AddHours(2):HH\\:mm}");
        await AdminAsync(A, HttpMethod.Put, "/admin/bedtime/key:owl", new JsonObject { ["hours"] = hours, ["floor_usd"] = "0" }, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.PaymentRequired, Second, "bedtime policy set on A enforced by B");

        await AdminAsync(A, HttpMethod.Delete, "/admin/bedtime/key:owl", null, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "bedtime policy deleted on A lifted on B");
    }

    [Fact]
    public async Task With_Bs_listener_killed_a_change_on_A_still_reaches_B_within_the_fallback_period_and_the_listener_comes_back()
    {
        var secret = await CreateKeyAsync(A, "agent-4");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key served by B");

        var killed = await _gateways.Postgres.ScalarAsync(
            $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'purser-listener-{B.Id}'");
        Assert.Equal(1, killed);
        await AdminAsync(A, HttpMethod.Delete, "/admin/keys/agent-4", null, HttpStatusCode.OK);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.Unauthorized, FallbackBound, "key revoked on A refused by B without its listener");
        await TwoGateways.WaitForLogAsync(B, "The listener for operators' changes failed");

        // The listener came back (after its backoff, with a full reload): announcements reach B again.
        for (var i = 0; i < 400 && Occurrences(B.Output, "Listening for operators' changes") < 2; i++)
        {
            await Poll.NextAsync(25);
        }

        Assert.Equal(2, Occurrences(B.Output, "Listening for operators' changes"));
        var next = await CreateKeyAsync(A, "agent-4b");
        await ExpectWithinAsync(B, next, "sim-chat", HttpStatusCode.OK, Second, "key created on A served by B after the listener reconnected");
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_lost_announcement_is_caught_by_the_version_check_within_its_period()
    {
        var secret = await CreateKeyAsync(A, "agent-5");
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.OK, Second, "key served by B");

        // A change committed with its version bump but no NOTIFY (the announcement lost): only the version check sees it.
        var revoked = await _gateways.Postgres.ScalarAsync(
            "WITH revoke AS (UPDATE admin_keys SET revoked_at = 1 WHERE id = 'agent-5' RETURNING id), "
            + "bump AS (UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version) "
            + "SELECT (SELECT count(*) FROM revoke) + 0 * (SELECT count(*) FROM bump)");
        Assert.Equal(1, revoked);
        await ExpectWithinAsync(B, secret, "sim-chat", HttpStatusCode.Unauthorized, FallbackBound, "a silently revoked key refused by B");
        await ExpectWithinAsync(A, secret, "sim-chat", HttpStatusCode.Unauthorized, FallbackBound, "a silently revoked key refused by A");
        await TwoGateways.WaitForLogAsync(B, "(version check)");
    }

    private async Task<string> CreateKeyAsync(GatewayProcess gateway, string id)
    {
        var created = await AdminAsync(gateway, HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = id }, HttpStatusCode.Created);
        return created["secret"]!.GetValue<string>();
    }

    private Task<JsonNode> AdminAsync(GatewayProcess gateway, HttpMethod method, string path, JsonObject? body, HttpStatusCode expected) =>
        _gateways.AdminAsync(gateway, method, path, body, expected);

    private async Task<HttpStatusCode> ChatAsync(GatewayProcess gateway, string secret, string model)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/chat/completions"))
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _gateways.Http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Polls <paramref name="gateway"/> until a served request's <c>x-budget-limit</c> is <paramref name="limitUsd"/> (at most 10 s), then asserts it took at most <paramref name="bound"/>.</summary>
    private async Task ExpectLimitWithinAsync(GatewayProcess gateway, string secret, decimal limitUsd, TimeSpan bound, string what)
    {
        var clock = RealClock.Start();
        var last = "(none)";
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway.BaseAddress, "/v1/chat/completions"))
            {
                Content = new StringContent("""{"model":"sim-chat","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            using var response = await _gateways.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            last = response.Headers.TryGetValues("x-budget-limit", out var values) ? values.First() : "(none)";
            if (decimal.TryParse(last, NumberStyles.Number, CultureInfo.InvariantCulture, out var limit) && limit == limitUsd)
            {
                var took = clock.Elapsed;
                _output.WriteLine(FormattableString.Invariant($"{what}: {took.TotalMilliseconds:F0} ms"));
                Assert.True(took <= bound, $"{what}: took {took.TotalMilliseconds:F0} ms, more than {bound.TotalMilliseconds:F0} ms");
                return;
            }

            await Poll.NextAsync(10);
        }

        Assert.Fail($"{what}: x-budget-limit still {last} after 10 s");
    }

    /// <summary>Polls <paramref name="gateway"/> until it answers <paramref name="expected"/> (at most 10 s), then asserts it took at most <paramref name="bound"/>.</summary>
    private async Task ExpectWithinAsync(GatewayProcess gateway, string secret, string model, HttpStatusCode expected, TimeSpan bound, string what)
    {
        var clock = RealClock.Start();
        var last = HttpStatusCode.OK;
        var attempts = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            attempts++;
            last = await ChatAsync(gateway, secret, model);
            if (last == expected)
            {
                var took = clock.Elapsed;
                _output.WriteLine(FormattableString.Invariant($"{what}: {took.TotalMilliseconds:F0} ms ({attempts} requests)"));
                Assert.True(took <= bound, $"{what}: took {took.TotalMilliseconds:F0} ms, more than {bound.TotalMilliseconds:F0} ms");
                return;
            }

            await Poll.NextAsync(10);
        }

        Assert.Fail($"{what}: still {(int)last} after 10 s, expected {(int)expected}.\nB:\n{gateway.Output}");
    }
}
