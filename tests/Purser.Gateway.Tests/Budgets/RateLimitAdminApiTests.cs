using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Purser.Gateway.Budgets;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// <c>/admin/rate-limits</c>: a stored limit takes effect at once and goes when deleted; hostile bodies are a 400 naming
/// the field and change nothing; and hostile concurrent request mixes never leave a concurrency slot taken nor pass a
/// requests limit.
/// </summary>
public sealed class RateLimitAdminApiTests : IAsyncLifetime
{
    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: """
            keys:
              - { id: file-key, secret: sk-file-key }
            rate_limits:
              - { id: from-file, scope: "key:file-key", requests_per_minute: 1000 }
            """,
        extraModels: """  sim-slowish: { provider: sim-openai, upstream: "sim-chat~out=30,tps=300", price: { input: 0.50, output: 1.50 } }""");

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_stored_limit_applies_at_once_is_listed_and_goes_when_deleted()
    {
        var secret = await _fixture.CreateKeyAsync("api-key");
        using (var put = await RawAsync(HttpMethod.Put, "/admin/rate-limits/api-rpm", """{"scope":"key:api-key","requests_per_minute":2,"max_concurrent":3}"""))
        {
            var saved = await BudgetFixture.ReadJsonAsync(put);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal("api", saved["source"]!.GetValue<string>());
            Assert.Equal(2, saved["requests_per_minute"]!.GetValue<long>());
        }

        using (var list = await RawAsync(HttpMethod.Get, "/admin/rate-limits", null))
        {
            var data = (await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray();
            Assert.Equal(["from-file", "api-rpm"], data.Select(d => d!["id"]!.GetValue<string>()));
            Assert.Equal("config", data[0]!["source"]!.GetValue<string>());
            Assert.Equal(0, data[1]!["in_flight"]!.GetValue<int>());

            // What GET returns may be PUT back as it is.
            using var back = await RawAsync(HttpMethod.Put, "/admin/rate-limits/api-rpm", data[1]!.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, back.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(secret));
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(secret));
        Assert.Equal(HttpStatusCode.TooManyRequests, await ChatStatusAsync(secret));

        using (var delete = await RawAsync(HttpMethod.Delete, "/admin/rate-limits/api-rpm", null))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(secret));
        using var again = await RawAsync(HttpMethod.Delete, "/admin/rate-limits/api-rpm", null);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Theory]
    [InlineData("""{"scope":"key:file-key","requests_per_minute":"60"}""", "requests_per_minute")]
    [InlineData("""{"scope":"key:file-key","requests_per_minute":60.5}""", "requests_per_minute")]
    [InlineData("""{"scope":"key:file-key","requests_per_minute":0}""", "requests_per_minute")]
    [InlineData("""{"scope":"key:file-key","tokens_per_minute":1e400}""", "tokens_per_minute")]
    [InlineData("""{"scope":"key:file-key","max_concurrent":-1}""", "max_concurrent")]
    [InlineData("""{"scope":"key:file-key","max_concurrent":99999999999999999999}""", "max_concurrent")]
    [InlineData("""{"scope":"key:nobody","requests_per_minute":1}""", "scope")]
    [InlineData("""{"scope":7,"requests_per_minute":1}""", "scope")]
    [InlineData("""{"scope":"key:file-key","model":"nope","requests_per_minute":1}""", "model")]
    [InlineData("""{"scope":"key:file-key","requests_per_minute":1,"burst":2}""", "burst")]
    [InlineData("""{"scope":"key:file-key"}""", "id")]
    [InlineData("""{"id":"other","scope":"key:file-key","requests_per_minute":1}""", "id")]
    public async Task A_wrong_field_is_a_400_naming_it_and_stores_nothing(string body, string param)
    {
        using var response = await RawAsync(HttpMethod.Put, "/admin/rate-limits/bad", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(response))["error"]!;
        Assert.Equal(param, error["param"]!.GetValue<string>());
        await AssertOnlyTheFileLimitAsync();
    }

    [Theory]
    [InlineData("""{"scope":"key:file-key","requests_per_minute":1,"requests_per_minute":2}""")]
    [InlineData("{\"scope\":\"key:file-key\",\"model\":\"\\ud800\",\"requests_per_minute\":1}")]
    [InlineData("""{"scope":"key:file-key",""")]
    [InlineData("""[{"scope":"key:file-key","requests_per_minute":1}]""")]
    public async Task Duplicate_keys_lone_surrogates_and_malformed_json_are_400s(string body)
    {
        using var response = await RawAsync(HttpMethod.Put, "/admin/rate-limits/bad", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await BudgetFixture.ReadJsonAsync(response))["error"]);
        await AssertOnlyTheFileLimitAsync();
    }

    [Fact]
    public async Task A_limit_of_the_file_cannot_be_changed_or_deleted_through_the_api()
    {
        using var put = await RawAsync(HttpMethod.Put, "/admin/rate-limits/from-file", """{"scope":"key:file-key","requests_per_minute":1}""");
        Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
        using var delete = await RawAsync(HttpMethod.Delete, "/admin/rate-limits/from-file", null);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    /// <summary>Hostile bodies: every answer is a 200 or a 400 with an error body, never a 500; a 400 stores nothing.</summary>
    [Fact]
    public async Task Hostile_admin_bodies_are_answered_with_200_or_a_400_and_never_corrupt_the_list()
    {
        var fields = Gen.OneOf(Gen.Const("scope"), Gen.Const("model"), Gen.Const("requests_per_minute"), Gen.Const("tokens_per_minute"), Gen.Const("max_concurrent"), Gen.Const("id"), Gen.Const("x"));
        var values = Gen.OneOf(
            Gen.Const("\"key:file-key\""), Gen.Const("\"team:none\""), Gen.Const("\"sim-chat\""), Gen.Const("\"\\udc00\""), Gen.Const("null"), Gen.Const("true"),
            Gen.Long[-5, 5].Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)), Gen.Const("1e999"), Gen.Const("-0"), Gen.Const("[]"), Gen.Const("{}"),
            Gen.Const("1000000000001"), Gen.Const("\"60\""), Gen.Const("0.5"));
        var bodies = Gen.Select(fields, values).Array[0, 6].Select(pairs => "{" + string.Join(",", pairs.Select(p => "\"" + p.Item1 + "\":" + p.Item2)) + "}");
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await bodies.SampleAsync(async body =>
        {
            using var response = await RawAsync(HttpMethod.Put, "/admin/rate-limits/hostile", body);
            var json = await BudgetFixture.ReadJsonAsync(response);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                stored.Add(json["id"]!.GetValue<string>());
                return true;
            }

            return response.StatusCode == HttpStatusCode.BadRequest && json["error"]!["param"] is not null;
        }, iter: 150, threads: 1);

        using var list = await RawAsync(HttpMethod.Get, "/admin/rate-limits", null);
        var ids = (await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(["from-file", .. stored], ids);
    }

    /// <summary>
    /// Hostile concurrent mixes on one key (streams and whole requests, callers hanging up at random, bad bodies): the
    /// concurrency count returns to 0, no more requests than the cap are ever in flight, and no more than the requests
    /// limit plus its refill over the elapsed fake time are admitted.
    /// </summary>
    [Fact]
    public async Task Hostile_concurrent_request_mixes_free_every_slot_and_never_pass_the_limits()
    {
        var secret = await _fixture.CreateKeyAsync("mix-key");
        using (var put = await RawAsync(HttpMethod.Put, "/admin/rate-limits/mix", """{"scope":"key:mix-key","requests_per_minute":40,"max_concurrent":3}"""))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var limiter = _fixture.Gateway.Services.GetRequiredService<RateLimiter>();
        var maxSeen = 0;
        var admitted = 0;
        var kinds = Gen.OneOf(Gen.Const("whole"), Gen.Const("stream"), Gen.Const("hangup"), Gen.Const("bad"), Gen.Const("cut"));
        await kinds.Array[4, 12].SampleAsync(async mix =>
        {
            var calls = mix.Select(async kind =>
            {
                var body = kind switch
                {
                    "bad" => """{"model":"sim-chat","messages":7}""",
                    "cut" => """{"model":"no-such-model","stream":true,"max_tokens":30,"messages":[{"role":"user","content":"x"}]}""",
                    "whole" => BudgetFixture.ChatBody(30),
                    _ => """{"model":"sim-slowish","stream":true,"max_tokens":30,"messages":[{"role":"user","content":"x"}]}""",
                };
                using var cts = new CancellationTokenSource();
                try
                {
                    using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body), HttpCompletionOption.ResponseHeadersRead, cts.Token);
                    InterlockedMax(ref maxSeen, limiter.InFlight("mix"));
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref admitted);
                    }

                    if (kind == "hangup")
                    {
                        await cts.CancelAsync();
                        return;
                    }

                    await response.Content.ReadAsStringAsync(cts.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException)
                {
                    // The caller hung up: its slot must still be freed.
                }
            });
            await Task.WhenAll(calls);
            await WaitUntilAsync(() => limiter.InFlight("mix") == 0);
            _fixture.Time.Advance(TimeSpan.FromSeconds(1));
        }, iter: 12, threads: 1);

        Assert.Equal(0, limiter.InFlight("mix"));
        Assert.InRange(maxSeen, 0, 3);

        // 12 iterations advanced the fake clock 12 s: at most 40 + 12 × (40 / 60) requests were admitted.
        Assert.InRange(admitted, 1, 40 + 8);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private async Task AssertOnlyTheFileLimitAsync()
    {
        using var list = await RawAsync(HttpMethod.Get, "/admin/rate-limits", null);
        var data = (await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray();
        Assert.Equal(["from-file"], data.Select(d => d!["id"]!.GetValue<string>()));
    }

    private async Task<HttpStatusCode> ChatStatusAsync(string secret)
    {
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(20)));
        return response.StatusCode;
    }

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

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Poll.NextAsync(25);
        }

        Assert.True(condition(), "timed out waiting for the concurrency count to return to 0");
    }
}
