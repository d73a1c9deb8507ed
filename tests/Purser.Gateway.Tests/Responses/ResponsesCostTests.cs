using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Pipeline;
using Purser.Usage;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// What a Responses API call costs, for every way it ends: usage × price with reasoning and cached tokens; a cut stream
/// charged by the pipeline's rules (counted output, or the hold for a reasoning model); a provider that omits or lies
/// about usage charged the hold; a provider error charged nothing; a background response held until it is retrieved
/// finished. After each: one usage record per request and spent = Σ records.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesCostTests
{
    private readonly MeteringFixture _fixture;

    public ResponsesCostTests(MeteringFixture fixture) => _fixture = fixture;

    private static string Body(string model, bool stream = false, int? maxOutput = 200, string extra = "") =>
        $$"""{"model":"{{model}}",{{(maxOutput is { } m ? $"\"max_output_tokens\":{m}," : "")}}"stream":{{(stream ? "true" : "false")}},"input":[{"role":"user","content":[{"type":"input_text","text":"hello there"}]}]{{extra}}}""";

    private Task<HttpResponseMessage> PostAsync(string secret, string body) =>
        _fixture.Http.SendAsync(MeteringFixture.Chat(secret, body, "/v1/responses"));

    private async Task<IReadOnlyList<UsageRecord>> AssertBooksBalanceAsync(string keyId, int requests)
    {
        var records = await _fixture.SettledAsync(keyId, requests);
        Assert.Equal(requests, records.Count);
        var (cap, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, held);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
        Assert.True(spent <= cap);
        return records;
    }

    [Fact]
    public async Task Recorded_cost_is_usage_times_price_with_reasoning_and_cached_tokens()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("sim-reason"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = json["usage"]!;
        var input = usage["input_tokens"]!.GetValue<long>();
        Assert.Equal(8, usage["input_tokens_details"]!["cached_tokens"]!.GetValue<long>());
        Assert.Equal(50, usage["output_tokens"]!.GetValue<long>());
        Assert.Equal(30, usage["output_tokens_details"]!["reasoning_tokens"]!.GetValue<long>());
        Assert.Equal("reasoning", json["output"]![0]!["type"]!.GetValue<string>());

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(input, record.Tokens.InputTokens);
        Assert.Equal(8, record.Tokens.CachedInputTokens);
        Assert.Equal(50, record.Tokens.OutputTokens);
        Assert.Equal(30, record.Tokens.ReasoningTokens);

        // $0.50 per million input, $0.25 cached, $1.50 output (reasoning is output).
        Assert.Equal(((input - 8) * 500) + (8 * 250) + (50 * 1500), record.Cost.NanoUsd);
        Assert.Equal(record.Cost.ToString(), response.Headers.GetValues("x-request-cost").Single());
    }

    [Fact]
    public async Task A_streamed_response_is_settled_from_response_completed()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("sim-reason", stream: true));
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("event: response.created", text, StringComparison.Ordinal);
        Assert.Contains("event: response.completed", text, StringComparison.Ordinal);

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.True(record.Streamed);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(30, record.Tokens.ReasoningTokens);
        Assert.Equal(((record.Tokens.InputTokens - 8) * 500) + (8 * 250) + (50 * 1500), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task A_cut_stream_is_charged_its_counted_output_and_ends_with_an_error_event()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("sim-cut", stream: true));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("response.completed", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.Equal("upstream_stream_cut", record.ErrorCode);
        Assert.InRange(record.Tokens.OutputTokens, 1, 49);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task A_cut_stream_of_a_reasoning_model_is_charged_its_hold_in_full()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("o3-cut", stream: true, maxOutput: 300));
        _ = await response.Content.ReadAsStringAsync();

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.Equal(300, record.Tokens.OutputTokens);
    }

    [Fact]
    public async Task A_cut_translated_stream_is_charged_the_providers_input_and_the_counted_output()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("claude-cut", stream: true));
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("event: response.created", text, StringComparison.Ordinal);
        Assert.DoesNotContain("response.completed", text, StringComparison.Ordinal);
        Assert.Contains("event: error", text, StringComparison.Ordinal);

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(UsageSource.Counted, record.Source);
        Assert.InRange(record.Tokens.OutputTokens, 1, 49);

        // claude-cut: $1 per million input, $5 output; the input is the provider's own count from message_start.
        Assert.Equal((record.Tokens.InputTokens * 1000) + (record.Tokens.OutputTokens * 5000), record.Cost.NanoUsd);
    }

    [Theory]
    [InlineData("sim-nousage")]
    [InlineData("sim-huge")]
    public async Task A_response_without_believable_usage_is_charged_the_hold(string model)
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body(model, maxOutput: 100));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream_invalid_response", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.Equal(100, record.Tokens.OutputTokens);
    }

    [Fact]
    public async Task A_provider_error_is_passed_on_and_charged_nothing()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("sim-500"));
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var record = Assert.Single(await AssertBooksBalanceAsync(keyId, 1));
        Assert.Equal(0, record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Without_max_output_tokens_the_hold_is_the_models_output_limit_and_the_provider_is_told_it()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await PostAsync(secret, Body("sim-ok", maxOutput: null));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(json["max_output_tokens"]!.GetValue<int>() > 0);
        await AssertBooksBalanceAsync(keyId, 1);
    }

    [Fact]
    public async Task A_background_response_is_held_until_retrieved_finished_then_settled_from_its_usage()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        using var created = await PostAsync(secret, Body("sim-ok", extra: ",\"background\":true"));
        var queued = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        Assert.Equal("queued", queued["status"]!.GetValue<string>());
        var id = queued["id"]!.GetValue<string>();

        var pending = Assert.Single(await _fixture.QuiescentAsync(keyId));
        Assert.Equal(0, pending.Cost.NanoUsd);
        Assert.Equal("background_pending", pending.ErrorCode);
        var (_, spentBefore, heldBefore) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, spentBefore);
        Assert.True(heldBefore > 0, "the background response's worst case stays held");

        using var get = MeteringFixture.Chat(secret, "{}", "/v1/responses/" + id);
        get.Method = HttpMethod.Get;
        get.Content = null;
        using var retrieved = await _fixture.Http.SendAsync(get);
        var done = JsonNode.Parse(await retrieved.Content.ReadAsStringAsync())!;
        Assert.Equal("completed", done["status"]!.GetValue<string>());
        var input = done["usage"]!["input_tokens"]!.GetValue<long>();

        var records = await AssertBooksBalanceAsync(keyId, 2);
        var settled = Assert.Single(records, r => r.Cost.NanoUsd > 0);
        Assert.Equal(UsageSource.Reported, settled.Source);
        Assert.Equal((input * 500) + (20 * 1500), settled.Cost.NanoUsd);

        // A second retrieval costs nothing: the hold was settled once.
        using var again = MeteringFixture.Chat(secret, "{}", "/v1/responses/" + id);
        again.Method = HttpMethod.Get;
        again.Content = null;
        using (var second = await _fixture.Http.SendAsync(again))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal("0", second.Headers.GetValues("x-request-cost").Single());
        }

        var after = await AssertBooksBalanceAsync(keyId, 3);
        Assert.Equal(settled.Cost.NanoUsd, after.Sum(r => r.Cost.NanoUsd));
    }
}
