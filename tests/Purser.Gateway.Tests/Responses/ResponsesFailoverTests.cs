using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Pipeline;
using Purser.Usage;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// <c>/v1/responses</c> on a route fails over like a chat route: a provider's 429 or 5xx, or a failure before it
/// answered, moves to the next target, as long as no byte reached the caller; a stream that opened is the caller's
/// (cut, it is charged by the pipeline's rules, never retried). Each attempt is charged by the pipeline's rules — a
/// refused attempt nothing, one whose bytes went upstream and timed out its worst case — and the call leaves one usage
/// record whose cost is their sum; spent = Σ records, nothing left held.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesFailoverTests
{
    private readonly MeteringFixture _fixture;

    public ResponsesFailoverTests(MeteringFixture fixture) => _fixture = fixture;

    private static string Body(string model, bool stream = false) =>
        $$"""{"model":"{{model}}","max_output_tokens":200,"stream":{{(stream ? "true" : "false")}},"input":[{"role":"user","content":[{"type":"input_text","text":"fail over please"}]}]}""";

    private Task<HttpResponseMessage> PostAsync(string secret, string body) =>
        _fixture.Http.SendAsync(MeteringFixture.Chat(secret, body, "/v1/responses"));

    private async Task<UsageRecord> OneBalancedRecordAsync(string keyId)
    {
        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        var (cap, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, held);
        Assert.Equal(record.Cost.NanoUsd, spent);
        Assert.True(spent <= cap);
        return record;
    }

    [Fact]
    public async Task A_500_from_the_first_target_is_served_by_the_next_and_charged_only_the_served_attempt()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("responses-after-500"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("completed", json["status"]!.GetValue<string>());
        var input = json["usage"]!["input_tokens"]!.GetValue<long>();

        var record = await OneBalancedRecordAsync(keyId);
        Assert.Equal("responses-after-500", record.ModelAlias);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(200, record.Status);
        Assert.Equal((input * 500) + (20 * 1500), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_429_streamed_request_fails_over_to_a_translated_target_and_streams_its_events()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("responses-after-429", stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("event: response.created", text, StringComparison.Ordinal);
        Assert.Contains("event: response.completed", text, StringComparison.Ordinal);

        var record = await OneBalancedRecordAsync(keyId);
        Assert.Equal("sim-anthropic", record.Provider);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(20, record.Tokens.OutputTokens);

        // claude-ok: $1 per million input, $5 output; the refused 429 attempt costs nothing.
        Assert.Equal((record.Tokens.InputTokens * 1000) + (20 * 5000), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task An_attempt_that_timed_out_after_its_bytes_went_upstream_is_charged_with_the_served_one()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("responses-after-timeout"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var input = json["usage"]!["input_tokens"]!.GetValue<long>();

        var record = await OneBalancedRecordAsync(keyId);
        var served = (input * 500) + (20 * 1500);

        // The timed-out attempt may have been billed: its worst case (input bound + 200 output at sim-timeout's price)
        // is charged on top of what the served attempt reported.
        Assert.True(record.Cost.NanoUsd > served + (200 * 1500));
        Assert.Equal(record.Cost.ToString(), response.Headers.GetValues("x-request-cost").Single());
        Assert.True(record.Tokens.OutputTokens >= 220);
    }

    [Fact]
    public async Task When_every_target_refuses_the_last_error_reaches_the_caller_and_nothing_is_charged()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("responses-all-fail"));
        Assert.True((int)response.StatusCode is 429 or 500, $"status {(int)response.StatusCode}");
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.NotNull(json["error"]);

        var record = await OneBalancedRecordAsync(keyId);
        Assert.Equal(0, record.Cost.NanoUsd);
        Assert.Equal((int)response.StatusCode, record.Status);
    }

    [Fact]
    public async Task A_stream_cut_after_it_reached_the_caller_is_not_retried_and_is_charged_its_counted_output()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("responses-cut-first", stream: true));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("response.completed", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);

        var record = await OneBalancedRecordAsync(keyId);
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.Equal("upstream_stream_cut", record.ErrorCode);
        Assert.InRange(record.Tokens.OutputTokens, 1, 49);
    }
}
