using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Purser.Events;
using Purser.Gateway.Budgets;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Rate limits at their boundaries on a fake clock: the 61st request in a minute, a token limit crossed by one large
/// request, the 5th concurrent stream; the provider's headers on success and refusal in both formats; a model-narrowed
/// limit; a refused request leaving no trace in any budget; a soft budget past its cap throttled instead of refused.
/// </summary>
public sealed class RateLimitTests : IAsyncLifetime
{
    private const string Keys = """
        keys:
          - { id: rl-rpm, secret: sk-rl-rpm }
          - { id: rl-tpm, secret: sk-rl-tpm }
          - { id: rl-conc, secret: sk-rl-conc }
          - { id: rl-anth, secret: sk-rl-anth }
          - { id: rl-model, secret: sk-rl-model }
          - { id: rl-trace, secret: sk-rl-trace }
          - { id: rl-throttle, secret: sk-rl-throttle }
          - { id: rl-embed, secret: sk-rl-embed }
        rate_limits:
          - { id: rpm-60, scope: "key:rl-rpm", requests_per_minute: 60 }
          - { id: tpm-2000, scope: "key:rl-tpm", tokens_per_minute: 2000 }
          - { id: conc-4, scope: "key:rl-conc", max_concurrent: 4 }
          - { id: anth, scope: "key:rl-anth", requests_per_minute: 2, tokens_per_minute: 100000 }
          - { id: mini-only, scope: "key:rl-model", model: sim-mini, requests_per_minute: 1 }
          - { id: trace-1, scope: "key:rl-trace", requests_per_minute: 1 }
          - { id: embed-tpm, scope: "key:rl-embed", requests_per_minute: 1000, tokens_per_minute: 600 }
        budgets:
          - { id: trace-key, scope: "key:rl-trace", cap_usd: 10 }
          - { id: throttle-key, scope: "key:rl-throttle", cap_usd: 0.000001, enforcement: soft, degrade: { throttle_rpm: 2 } }
        """;

    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: Keys,
        extraModels: """  sim-slow: { provider: sim-openai, upstream: "sim-chat~out=400,tps=4", price: { input: 0.50, output: 1.50 } }""");

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task The_61st_request_in_a_minute_is_refused_with_a_429_the_sdk_understands()
    {
        for (var i = 1; i <= 60; i++)
        {
            using var ok = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-rpm", BudgetFixture.ChatBody(50)));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("60", Header(ok, "x-ratelimit-limit-requests"));
            Assert.Equal((60 - i).ToString(CultureInfo.InvariantCulture), Header(ok, "x-ratelimit-remaining-requests"));
            Assert.Equal(i == 1 ? "1s" : i == 60 ? "1m0s" : null, i is 1 or 60 ? Header(ok, "x-ratelimit-reset-requests") : null);
            Assert.False(ok.Headers.Contains("x-ratelimit-limit-tokens"));
        }

        using var refused = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-rpm", BudgetFixture.ChatBody(50)));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(refused))["error"]!;
        Assert.Equal("rate_limit_exceeded", error["type"]!.GetValue<string>());
        Assert.Equal("requests_per_minute_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("1", Header(refused, "retry-after"));
        Assert.Equal("1000", Header(refused, "retry-after-ms"));
        Assert.Equal("0", Header(refused, "x-ratelimit-remaining-requests"));
        Assert.Equal("60", Header(refused, "x-ratelimit-limit-requests"));

        // 999 ms later the bucket still lacks a request; at 1000 ms it has exactly one.
        _fixture.Time.Advance(TimeSpan.FromMilliseconds(999));
        using (var early = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-rpm", BudgetFixture.ChatBody(50))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, early.StatusCode);
            Assert.Equal("1", Header(early, "retry-after-ms"));
        }

        _fixture.Time.Advance(TimeSpan.FromMilliseconds(1));
        using var again = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-rpm", BudgetFixture.ChatBody(50)));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        // Every refusal left its usage record, at $0; the rate_limit.exceeded event is one per scope per minute.
        var records = await _fixture.UsageOfKeyAsync("rl-rpm");
        Assert.Equal(63, records.Count);
        Assert.Equal(2, records.Count(r => r.Status == 429 && r.ErrorCode == "requests_per_minute_exceeded" && r.Cost.NanoUsd == 0));
        var events = await EventsAsync("rate_limit.exceeded", "key:rl-rpm", 1);
        Assert.Single(events);
        Assert.Contains("rpm-60", events[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_limit_is_crossed_by_one_large_request_and_settles_to_actual_usage()
    {
        // The worst case of a request is its input bound plus max_tokens: 1900 output tokens alone exceed what is left
        // after a first request's worst case is taken, and more than the whole minute never fits.
        using (var tooLarge = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-tpm", BudgetFixture.ChatBody(1999))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, tooLarge.StatusCode);
            var error = (await BudgetFixture.ReadJsonAsync(tooLarge))["error"]!;
            Assert.Equal("tokens_per_minute_exceeded", error["code"]!.GetValue<string>());
            Assert.Equal("60", Header(tooLarge, "retry-after"));
            Assert.Equal("2000", Header(tooLarge, "x-ratelimit-remaining-tokens"));
        }

        using var first = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-tpm", BudgetFixture.ChatBody(100)));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var afterWorstCase = long.Parse(Header(first, "x-ratelimit-remaining-tokens")!, CultureInfo.InvariantCulture);
        Assert.Equal("2000", Header(first, "x-ratelimit-limit-tokens"));
        Assert.InRange(afterWorstCase, 1, 2000 - 100);
        var worstCase = 2000 - afterWorstCase;
        Assert.Equal(InputBound(BudgetFixture.ChatBody(100)) + 100, worstCase);

        // Settled to the actual usage: the next request sees the worst case given back, less what was used.
        var used = (await _fixture.UsageOfKeyAsync("rl-tpm")).Single(r => r.Status == 200).Tokens.TotalTokens;
        using var second = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-tpm", BudgetFixture.ChatBody(100)));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2000 - used - worstCase, long.Parse(Header(second, "x-ratelimit-remaining-tokens")!, CultureInfo.InvariantCulture));

        // One request whose worst case is one token more than what is left, though less than a minute's worth:
        // refused, with the wait until that token has refilled (2000 tokens a minute is one every 30 ms).
        var records = await _fixture.UsageOfKeyAsync("rl-tpm");
        var left = 2000 - records.Where(r => r.Status == 200).Sum(r => r.Tokens.TotalTokens);
        var maxTokens = (int)(left + 1 - InputBound(BudgetFixture.ChatBody(1000)));
        Assert.InRange(maxTokens, 1000, 1999);
        using var crossing = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-tpm", BudgetFixture.ChatBody(maxTokens)));
        Assert.Equal(HttpStatusCode.TooManyRequests, crossing.StatusCode);
        Assert.Equal("tokens_per_minute_exceeded", (await BudgetFixture.ReadJsonAsync(crossing))["error"]!["code"]!.GetValue<string>());
        Assert.Equal("30", Header(crossing, "retry-after-ms"));
        Assert.Equal("1", Header(crossing, "retry-after"));

        _fixture.Time.Advance(TimeSpan.FromMilliseconds(30));
        using var fits = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-tpm", BudgetFixture.ChatBody(maxTokens)));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    [Fact]
    public async Task The_5th_concurrent_stream_is_refused_and_every_slot_is_freed_when_streams_end()
    {
        var limiter = _fixture.Gateway.Services.GetRequiredService<RateLimiter>();
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var response = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-conc", StreamBody()), HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                open.Add(response);
            }

            Assert.Equal(4, limiter.InFlight("conc-4"));
            using (var fifth = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-conc", StreamBody()), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, fifth.StatusCode);
                Assert.Equal("concurrency_exceeded", (await BudgetFixture.ReadJsonAsync(fifth))["error"]!["code"]!.GetValue<string>());
                Assert.Equal("1", Header(fifth, "retry-after"));
            }

            // A caller hanging up frees its slot (the stream's frame ends); then a fifth stream fits again.
            open[0].Dispose();
            open.RemoveAt(0);
            await WaitUntilAsync(() => limiter.InFlight("conc-4") == 3, "the hung-up stream to be released");
            var another = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-conc", StreamBody()), HttpCompletionOption.ResponseHeadersRead);
            open.Add(another);
            Assert.Equal(HttpStatusCode.OK, another.StatusCode);
        }
        finally
        {
            foreach (var response in open)
            {
                response.Dispose();
            }
        }

        await WaitUntilAsync(() => limiter.InFlight("conc-4") == 0, "every slot to be released");

        // A whole (non-streamed) request holds its slot only while it runs.
        using var whole = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-conc", BudgetFixture.ChatBody(20)));
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        await WaitUntilAsync(() => limiter.InFlight("conc-4") == 0, "the whole request's slot to be released");
    }

    [Fact]
    public async Task Anthropic_callers_get_anthropic_headers_and_a_rate_limit_error()
    {
        const string Body = """{"model":"claude-sim","max_tokens":50,"messages":[{"role":"user","content":"hello limits"}]}""";
        using var ok = await _fixture.Http.SendAsync(Requests.Messages(Body, "sk-rl-anth"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("2", Header(ok, "anthropic-ratelimit-requests-limit"));
        Assert.Equal("1", Header(ok, "anthropic-ratelimit-requests-remaining"));

        // Refilled one request every 30 s: full again 30 s from the fake clock's 12:00:00.
        Assert.Equal("2026-11-24T12:00:30Z", Header(ok, "anthropic-ratelimit-requests-reset"));
        Assert.Equal("100000", Header(ok, "anthropic-ratelimit-tokens-limit"));
        Assert.NotNull(Header(ok, "anthropic-ratelimit-tokens-remaining"));
        Assert.NotNull(Header(ok, "anthropic-ratelimit-tokens-reset"));
        Assert.False(ok.Headers.Contains("x-ratelimit-limit-requests"));

        using var second = await _fixture.Http.SendAsync(Requests.Messages(Body, "sk-rl-anth"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using var refused = await _fixture.Http.SendAsync(Requests.Messages(Body, "sk-rl-anth"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var json = await BudgetFixture.ReadJsonAsync(refused);
        Assert.Equal("error", json["type"]!.GetValue<string>());
        Assert.Equal("rate_limit_error", json["error"]!["type"]!.GetValue<string>());
        Assert.Equal("requests_per_minute_exceeded", json["error"]!["code"]!.GetValue<string>());
        Assert.Equal("30", Header(refused, "retry-after"));
        Assert.Equal("30000", Header(refused, "retry-after-ms"));
        Assert.Equal("0", Header(refused, "anthropic-ratelimit-requests-remaining"));
    }

    [Fact]
    public async Task A_model_narrowed_limit_applies_to_that_model_only()
    {
        using (var mini = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-model", BudgetFixture.ChatBody(20, "sim-mini"))))
        {
            Assert.Equal(HttpStatusCode.OK, mini.StatusCode);
            Assert.Equal("0", Header(mini, "x-ratelimit-remaining-requests"));
        }

        using (var miniAgain = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-model", BudgetFixture.ChatBody(20, "sim-mini"))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, miniAgain.StatusCode);
        }

        for (var i = 0; i < 3; i++)
        {
            using var other = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-model", BudgetFixture.ChatBody(20)));
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            Assert.False(other.Headers.Contains("x-ratelimit-limit-requests"));
        }
    }

    [Fact]
    public async Task A_refused_request_leaves_no_trace_in_any_budget()
    {
        using (var first = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-trace", BudgetFixture.ChatBody(100))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        Assert.Single(await _fixture.UsageOfKeyAsync("rl-trace"));
        var before = await _fixture.BudgetStateAsync("trace-key");
        Assert.True(before.Spent > 0);
        Assert.Equal(0, before.Held);
        for (var i = 0; i < 5; i++)
        {
            using var refused = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-trace", BudgetFixture.ChatBody(100)));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        var after = await _fixture.BudgetStateAsync("trace-key");
        Assert.Equal(before.Spent, after.Spent);
        Assert.Equal(0, after.Held);
        var records = await _fixture.UsageOfKeyAsync("rl-trace");
        Assert.Equal(before.Spent, records.Sum(r => r.Cost.NanoUsd));
        Assert.Equal(5, records.Count(r => r.Status == 429 && r.Cost.NanoUsd == 0));
    }

    [Fact]
    public async Task A_soft_budget_past_its_cap_is_throttled_instead_of_refused()
    {
        // The first request is admitted (soft) and spends past the tiny cap; from then on, 2 a minute.
        using (var first = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-throttle", BudgetFixture.ChatBody(20))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.False(first.Headers.Contains("x-budget-throttled"));
        }

        Assert.Single(await _fixture.UsageOfKeyAsync("rl-throttle"));

        for (var i = 0; i < 2; i++)
        {
            // Each settles before the next is sent, so each sees the budget past its cap.
            Assert.Equal(i + 1, (await _fixture.UsageOfKeyAsync("rl-throttle")).Count);
            using var throttled = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-throttle", BudgetFixture.ChatBody(20)));
            Assert.Equal(HttpStatusCode.OK, throttled.StatusCode);
            Assert.Equal("throttle-key;rpm=2", Header(throttled, "x-budget-throttled"));
            Assert.Equal("2", Header(throttled, "x-ratelimit-limit-requests"));
            Assert.Equal((1 - i).ToString(CultureInfo.InvariantCulture), Header(throttled, "x-ratelimit-remaining-requests"));
        }

        var before = await _fixture.BudgetStateAsync("throttle-key");
        using (var refused = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-throttle", BudgetFixture.ChatBody(20))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("requests_per_minute_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
            Assert.Equal("30", Header(refused, "retry-after"));
            Assert.Equal("throttle-key;rpm=2", Header(refused, "x-budget-throttled"));
        }

        // The refused request's hold was released: nothing more spent, nothing held.
        var after = await _fixture.BudgetStateAsync("throttle-key");
        Assert.Equal(before.Spent, after.Spent);
        Assert.Equal(0, after.Held);

        _fixture.Time.Advance(TimeSpan.FromSeconds(30));
        using (var later = await _fixture.Http.SendAsync(_fixture.Chat("sk-rl-throttle", BudgetFixture.ChatBody(20))))
        {
            Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        }

        Assert.Single(await EventsAsync("budget.throttled", "key:rl-throttle", 1));
        Assert.Single(await EventsAsync("rate_limit.exceeded", "key:rl-throttle", 1));
    }

    [Fact]
    public async Task Embeddings_take_their_input_bound_from_a_token_limit()
    {
        var body = """{"model":"sim-embed","input":"rate limited embedding"}""";
        using var ok = await _fixture.Http.SendAsync(_fixture.Embeddings("sk-rl-embed", body));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("600", Header(ok, "x-ratelimit-limit-tokens"));
        var bigger = """{"model":"sim-embed","input":"__"}""".Replace("__", new string('x', 2000), StringComparison.Ordinal);
        using var refused = await _fixture.Http.SendAsync(_fixture.Embeddings("sk-rl-embed", bigger));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("tokens_per_minute_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
    }

    /// <summary>The input tokens a chat body is held for: its bytes plus the fixed allowance of the worst-case bound.</summary>
    private static long InputBound(string body) => System.Text.Encoding.UTF8.GetByteCount(body) + 256;

    private static string StreamBody() =>
        """{"model":"sim-slow","stream":true,"max_tokens":400,"messages":[{"role":"user","content":"stream slowly"}]}""";

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private async Task<IReadOnlyList<GatewayEvent>> EventsAsync(string type, string scope, int atLeast)
    {
        var store = _fixture.Gateway.Services.GetRequiredService<IEventStore>();
        IReadOnlyList<GatewayEvent> events = [];
        for (var i = 0; i < 200; i++)
        {
            events = (await store.QueryAsync(new EventQuery { Type = type, Limit = 100 }, CancellationToken.None)).Where(e => e.Scope == scope).ToList();
            if (events.Count >= atLeast)
            {
                // Give a duplicate, if one were coming, the same chance to land.
                await Poll.NextAsync(50);
                return (await store.QueryAsync(new EventQuery { Type = type, Limit = 100 }, CancellationToken.None)).Where(e => e.Scope == scope).ToList();
            }

            await Poll.NextAsync(25);
        }

        return events;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 400 && !condition(); i++)
        {
            await Poll.NextAsync(25);
        }

        Assert.True(condition(), "timed out waiting for " + what);
    }
}
