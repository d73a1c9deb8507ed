using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>
/// Every path of an ensemble against the simulated provider — full, shrunk, degraded, refused, judge skipped — each
/// checked on its headers, whose answer the caller got, the aggregated usage and what was charged.
/// </summary>
[Collection(EnsembleCollection.Name)]
public sealed class EnsembleTests
{
    private readonly EnsembleFixture _fixture;

    public EnsembleTests(EnsembleFixture fixture) => _fixture = fixture;

    private sealed record Outcome(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response, UsageRecord Record)
    {
        public string? Header(string name) => Response.Headers.TryGetValues(name, out var values) ? string.Join(',', values) : null;

        public long Nano(string name) => BudgetFixture.Nano(Header(name)!);

        public int AnswerWords => Body["choices"]![0]!["message"]!["content"]!.GetValue<string>().Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

        public long CompletionTokens => Body["usage"]!["completion_tokens"]!.GetValue<long>();
    }

    private async Task<Outcome> SendAsync(string keyId, string body, string path = "/v1/chat/completions")
    {
        var secret = await _fixture.CreateKeyAsync(keyId);
        return await SendWithAsync(keyId, secret, body, path);
    }

    private async Task<Outcome> SendWithAsync(string keyId, string secret, string body, string path = "/v1/chat/completions")
    {
        var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, path));
        var json = await BudgetFixture.ReadJsonAsync(response);
        var requestId = response.Headers.GetValues("x-request-id").Single();
        var record = (await _fixture.UsageOfKeyAsync(keyId)).Single(r => r.RequestId == requestId);
        return new Outcome(response.StatusCode, json, response, record);
    }

    /// <summary>The charge is the same number everywhere: the actual-cost header, x-request-cost and the usage record; never above the projection.</summary>
    private static void AssertCharged(Outcome outcome)
    {
        var actual = outcome.Nano("x-ensemble-actual-cost");
        Assert.True(actual > 0);
        Assert.Equal(actual, outcome.Nano("x-request-cost"));
        Assert.Equal(actual, outcome.Record.Cost.NanoUsd);
        Assert.True(actual <= outcome.Nano("x-ensemble-projected-cost"), "the projection covers what ran");
        Assert.Equal(outcome.Body["usage"]!["prompt_tokens"]!.GetValue<long>(), outcome.Record.Tokens.InputTokens);
        Assert.Equal(outcome.CompletionTokens, outcome.Record.Tokens.OutputTokens);
    }

    [Fact]
    public async Task Full_ensemble_calls_every_member_then_answers_with_the_judge_and_charges_every_call()
    {
        var outcome = await SendAsync("ens-full", EnsembleFixture.ChatBody("full", 50));

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Equal("pa,pb,pc", outcome.Header("x-ensemble-panel"));
        Assert.Null(outcome.Header("x-ensemble-degraded"));
        Assert.Equal("jd", outcome.Header("x-ensemble-served-by"));
        Assert.Equal(16, outcome.AnswerWords);
        Assert.Equal("full", outcome.Body["model"]!.GetValue<string>());
        Assert.Equal(10 + 12 + 14 + 16, outcome.CompletionTokens);
        Assert.Null(outcome.Record.Degraded);
        Assert.Equal("full", outcome.Record.ModelAlias);
        AssertCharged(outcome);
    }

    [Fact]
    public async Task A_broken_panel_cap_shrinks_the_panel_by_dropping_the_most_expensive_member()
    {
        var outcome = await SendAsync("ens-shrink", EnsembleFixture.ChatBody("shrink", 50));

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Equal("pa,pb", outcome.Header("x-ensemble-panel"));
        Assert.Equal("panel_shrunk:max_panel_calls", outcome.Header("x-ensemble-degraded"));
        Assert.Equal("jd", outcome.Header("x-ensemble-served-by"));
        Assert.Equal(10 + 12 + 16, outcome.CompletionTokens);
        Assert.Equal("ensemble:panel_shrunk:max_panel_calls", outcome.Record.Degraded);
        AssertCharged(outcome);
    }

    [Theory]
    [InlineData("to-judge", "jd", 16)]
    [InlineData("to-first", "pa", 10)]
    [InlineData("to-route", "pb", 12)]
    public async Task A_cap_the_smallest_panel_cannot_meet_degrades_to_one_call_of_the_target(string ensemble, string servedBy, int words)
    {
        var outcome = await SendAsync("ens-" + ensemble, EnsembleFixture.ChatBody(ensemble, 50));

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Null(outcome.Header("x-ensemble-panel"));
        var target = ensemble switch { "to-judge" => "jd", "to-first" => "pa", _ => "failover2" };
        Assert.Equal($"degraded_to:{target}:max_total_tokens", outcome.Header("x-ensemble-degraded"));
        Assert.Equal(servedBy, outcome.Header("x-ensemble-served-by"));
        Assert.Equal(words, outcome.AnswerWords);
        Assert.Equal(words, outcome.CompletionTokens);
        Assert.Equal($"ensemble:degraded_to:{target}:max_total_tokens", outcome.Record.Degraded);
        Assert.True(outcome.Nano("x-ensemble-projected-cost") > 0);
        AssertCharged(outcome);
    }

    [Fact]
    public async Task On_exceed_fail_refuses_before_any_call_with_a_402_naming_the_cap_and_the_projection()
    {
        var outcome = await SendAsync("ens-refuse", EnsembleFixture.ChatBody("refuse", 50));

        Assert.Equal(HttpStatusCode.PaymentRequired, outcome.Status);
        var error = outcome.Body["error"]!;
        Assert.Equal("ensemble_cap_exceeded", error["code"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.Contains("max_total_tokens of 1200 tokens", message, StringComparison.Ordinal);
        Assert.Contains("projects $", message, StringComparison.Ordinal);
        Assert.Contains("on_exceed is fail", message, StringComparison.Ordinal);
        Assert.Equal(0, outcome.Record.Cost.NanoUsd);
        Assert.Equal(UsageSource.None, outcome.Record.Source);
        Assert.Equal("ensemble:refused:max_total_tokens", outcome.Record.Degraded);
    }

    [Fact]
    public async Task When_the_judge_no_longer_fits_after_the_panel_the_best_panel_answer_is_returned_instead()
    {
        var outcome = await SendAsync("ens-mid", EnsembleFixture.MidFlightBody);

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Equal("long-a,long-b", outcome.Header("x-ensemble-panel"));
        Assert.Equal("judge_skipped:max_total_tokens", outcome.Header("x-ensemble-degraded"));
        Assert.Equal("long-a", outcome.Header("x-ensemble-served-by"));
        Assert.Equal(2000, outcome.AnswerWords);
        Assert.Equal(4000, outcome.CompletionTokens);
        Assert.Equal("ensemble:judge_skipped:max_total_tokens", outcome.Record.Degraded);
        AssertCharged(outcome);
    }

    [Fact]
    public async Task Failed_and_timed_out_members_are_tolerated_down_to_min_responses()
    {
        var outcome = await SendAsync("ens-tolerant", EnsembleFixture.ChatBody("tolerant", 50));

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Equal("broken3,slow,pa,pb", outcome.Header("x-ensemble-panel"));
        Assert.Equal("jd", outcome.Header("x-ensemble-served-by"));

        // The slow member was sent and then cut by the panel's timeout: the provider may bill it, nothing says how
        // much, so it is charged its worst case (max_tokens 50 of output) — never $0 — alongside what the others used.
        Assert.Equal(10 + 12 + 16 + 50, outcome.CompletionTokens);
        Assert.Equal(UsageSource.Held, outcome.Record.Source);
        AssertCharged(outcome);
    }

    [Fact]
    public async Task An_anthropic_caller_gets_the_judge_answer_in_its_own_format()
    {
        var body = """{"model":"full","max_tokens":50,"messages":[{"role":"user","content":"which is best?"}]}""";
        var outcome = await SendAsync("ens-anthropic", body, "/v1/messages");

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.Equal("message", outcome.Body["type"]!.GetValue<string>());
        Assert.Equal(16, outcome.Body["content"]![0]!["text"]!.GetValue<string>().Split(' ').Length);
        Assert.Equal(10 + 12 + 14 + 16, outcome.Body["usage"]!["output_tokens"]!.GetValue<long>());
        Assert.Equal(outcome.Nano("x-ensemble-actual-cost"), outcome.Record.Cost.NanoUsd);
    }

    [Theory]
    [InlineData("/v1/chat/completions")]
    [InlineData("/v1/messages")]
    public async Task A_streaming_caller_gets_the_judge_answer_as_a_stream(string path)
    {
        var secret = await _fixture.CreateKeyAsync("ens-stream" + path.Replace('/', '-'));
        var body = path == "/v1/messages"
            ? """{"model":"full","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"which is best?"}]}"""
            : EnsembleFixture.ChatBody("full", 50, stream: true);
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, path));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("jd", response.Headers.GetValues("x-ensemble-served-by").Single());
        if (path == "/v1/messages")
        {
            Assert.Contains("event: message_start", text, StringComparison.Ordinal);
            Assert.Contains("\"text_delta\"", text, StringComparison.Ordinal);
            Assert.Contains("event: message_stop", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("\"chat.completion.chunk\"", text, StringComparison.Ordinal);
            Assert.Contains("\"completion_tokens\":52", text, StringComparison.Ordinal);
            Assert.Contains("\"cost\":", text, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", text, StringComparison.Ordinal);
        }
    }

    public static TheoryData<int, int> Sizes()
    {
        var data = new TheoryData<int, int>();
        foreach (var prompt in new[] { 5, 3_000, 20_000 })
        {
            foreach (var maxTokens in new[] { 1, 64, 700 })
            {
                data.Add(prompt, maxTokens);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task The_projection_is_never_below_the_actual_cost_of_an_ensemble_that_ran(int promptChars, int maxTokens)
    {
        var prompt = string.Concat(Enumerable.Repeat("é word \"quoted\"\n", (promptChars / 16) + 1))[..promptChars];
        var outcome = await SendAsync($"ens-table-{promptChars}-{maxTokens}", EnsembleFixture.ChatBody("table", maxTokens, prompt));

        Assert.Equal(HttpStatusCode.OK, outcome.Status);
        Assert.True(outcome.Nano("x-ensemble-actual-cost") <= outcome.Nano("x-ensemble-projected-cost"), $"actual {outcome.Header("x-ensemble-actual-cost")} > projected {outcome.Header("x-ensemble-projected-cost")}");
        Assert.True(outcome.Record.Tokens.TotalTokens <= long.Parse(outcome.Header("x-ensemble-projected-tokens")!, System.Globalization.CultureInfo.InvariantCulture));
        AssertCharged(outcome);
    }

    [Fact]
    public async Task Concurrent_ensembles_on_a_key_near_its_cap_never_take_spend_over_the_cap()
    {
        var body = EnsembleFixture.ChatBody("full", 50);
        var probe = await SendAsync("ens-probe", body);
        var projected = probe.Nano("x-ensemble-projected-cost");
        var cap = (projected * 5) / 2;
        var secret = await _fixture.CreateKeyAsync("ens-concurrent");
        await _fixture.PutKeyBudgetAsync("ens-concurrent-daily", "ens-concurrent", cap);

        var (ok, refused) = await ConcurrentCalls.FireAsync(_fixture.Http, 12, _ => _fixture.Chat(secret, body), parallelism: 12);

        var (spent, held) = await _fixture.BudgetStateAsync("ens-concurrent-daily");
        Assert.True(spent <= cap, $"spent {spent} > cap {cap}");
        Assert.Equal(0, held);
        Assert.True(ok >= 2, "two projections fit the cap");
        Assert.True(refused >= 1, "twelve do not");
        var records = await _fixture.UsageOfKeyAsync("ens-concurrent");
        Assert.Equal(spent, records.Sum(r => r.Cost.NanoUsd));
    }
}
