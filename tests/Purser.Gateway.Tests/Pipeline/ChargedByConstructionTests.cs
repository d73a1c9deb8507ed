using System.Net;
using System.Text;
using System.Text.Json;
using Purser.Usage;

namespace Purser.Gateway.Tests.Pipeline;

/// <summary>
/// Each way a call used to leave the pipeline unpriced (issue "Charged by construction"), tried as an attacker would:
/// after every case the key has exactly one usage record per request, nothing held, and spent = Σ records.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ChargedByConstructionTests
{
    private readonly MeteringFixture _fixture;

    public ChargedByConstructionTests(MeteringFixture fixture) => _fixture = fixture;

    private static string Body(string model, bool stream = false, int maxTokens = 200) =>
        $$"""{"model":"{{model}}","max_tokens":{{maxTokens}},"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hello there"}]}""";

    /// <summary>The key's books balance: one record per request, nothing held, spent = Σ records ≤ cap.</summary>
    private async Task<IReadOnlyList<UsageRecord>> AssertBooksBalanceAsync(string keyId, int requests)
    {
        var records = await _fixture.SettledAsync(keyId, requests);
        Assert.Equal(requests, records.Count);
        Assert.Equal(requests, records.Select(r => r.RequestId).Distinct().Count());
        var (cap, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, held);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
        Assert.True(spent <= cap, $"spent {spent} > cap {cap}");
        return records;
    }

    /// <summary>One call first, so the request under test reaches the provider well before the caller hangs up.</summary>
    private async Task WarmUpAsync(string secret)
    {
        var (warmId, warmSecret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(warmSecret, Body("sim-ok")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        _ = warmId;
        _ = secret;
    }

    // 1. A client that hangs up is not free.
    [Fact]
    public async Task A_caller_who_hangs_up_before_the_answer_is_charged_what_the_provider_reports()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        await WarmUpAsync(secret);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300), TimeProvider.System))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("sim-late")), cts.Token));
        }

        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(499, record.Status);
        Assert.Equal("client_closed", record.ErrorCode);
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.Equal(20, record.Tokens.OutputTokens);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task Abandoning_requests_cannot_pass_a_reserve_cap()
    {
        // Each request holds about $0.0002 and is charged about $0.000035: a $0.0003 cap admits three, then refuses.
        var (id, secret) = await _fixture.KeyWithCapAsync("0.0003");
        await WarmUpAsync(secret);
        for (var i = 0; i < 6; i++)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300), TimeProvider.System);
            try
            {
                using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("sim-late", maxTokens: 20)), cts.Token);
            }
            catch (OperationCanceledException)
            {
                // The caller gave up, as an abusive agent would.
            }

            await _fixture.SettledAsync(id, i + 1);
        }

        var records = await AssertBooksBalanceAsync(id, 6);
        Assert.Contains(records, r => r.Status == 499 && r.Cost.NanoUsd > 0);
        Assert.Contains(records, r => r.Status == 402);
    }

    [Fact]
    public async Task The_gateways_own_upstream_timeout_charges_the_hold_in_full()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("sim-timeout", maxTokens: 100)));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.Equal(100, record.Tokens.OutputTokens);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    // 2. Billed answers the gateway will not relay are not free.
    [Theory]
    [InlineData("sim-nousage")]
    [InlineData("sim-cutbody")]
    [InlineData("sim-garbage")]
    [InlineData("sim-oversize")]
    public async Task A_200_that_cannot_be_relayed_is_a_502_charged_its_hold(string model)
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body(model, maxTokens: 50)));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("upstream_invalid_response", error.GetProperty("code").GetString());
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.True(record.Cost.NanoUsd > 0, "bytes went upstream: never $0");
    }

    [Fact]
    public async Task A_failed_over_route_attempt_that_reached_the_provider_is_charged_with_the_answer()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("failover-once", maxTokens: 50)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sim-garbage-2,sim-ok", response.Headers.GetValues("x-route-tried").Single());
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));

        // The garbage attempt's worst case (50 output tokens and the input bound) plus the answer's 20 output tokens.
        Assert.Equal(70, record.Tokens.OutputTokens);
        Assert.Equal(UsageSource.Reported, record.Source);
    }

    [Fact]
    public async Task An_ensemble_member_that_answered_unreadably_is_charged_in_the_total()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("panel-with-liar", maxTokens: 50)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Held, record.Source);

        // sim-ok answered 20, the liar is charged its worst case 50, the judge answered 20.
        Assert.Equal(20 + 50 + 20, record.Tokens.OutputTokens);
    }

    // 3. Bad bytes after the hold cannot drain budgets.
    [Theory]
    [InlineData("""{"model":"claude-ok","max_tokens":10,"messages":[{"role":"user","content":"\ud800"}]}""", "/v1/chat/completions")]
    [InlineData("""{"model":"sim-ok","max_tokens":10,"messages":[{"role":"user","content":"x"}],"stream_options":{},"stream_options":{}}""", "/v1/chat/completions")]
    [InlineData("""{"model":"claude-ok","max_tokens":10,"messages":[{"role":"user","content":"a","role":"system"}]}""", "/v1/chat/completions")]
    [InlineData("""{"model":"sim-ok","max_tokens":10,"max_tokens":99999,"messages":[{"role":"user","content":"x"}]}""", "/v1/messages")]
    [InlineData("""{"model":"sim-ok","messages":[{"role":"user","content":"\udc00\ud800"}]}""", "/v1/chat/completions")]
    public async Task Bad_bytes_are_a_400_with_nothing_held_or_charged(string body, string path)
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, body, path));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.NotEmpty(text);
        Assert.Equal(path == "/v1/messages" ? "error" : null, JsonDocument.Parse(text).RootElement.TryGetProperty("type", out var type) ? type.GetString() : null);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(0, record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Invalid_utf8_on_a_translated_route_is_a_400()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        var bytes = Encoding.UTF8.GetBytes("""{"model":"claude-ok","max_tokens":10,"messages":[{"role":"user","content":"AB"}]}""");
        var at = Array.IndexOf(bytes, (byte)'A');
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Raw(secret, bytes));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertBooksBalanceAsync(id, 1);
    }

    [Theory]
    [InlineData("x-budget-hint", "79300000000000000000")]
    [InlineData("x-budget-hint", "1e30")]
    [InlineData("x-budget-ceiling", "79300000000000000000")]
    public async Task Huge_budget_header_amounts_are_a_400(string header, string value)
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var request = MeteringFixture.Chat(secret, Body("sim-ok"));
        request.Headers.TryAddWithoutValidation(header, value);
        request.Headers.TryAddWithoutValidation("x-budget-scope", "t-" + id);
        using var response = await _fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty(await response.Content.ReadAsStringAsync());
        await AssertBooksBalanceAsync(id, 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Absurd_upstream_usage_is_clamped_to_the_hold_and_reported_invalid(bool stream)
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("sim-huge", stream, maxTokens: 30)));
        var text = await response.Content.ReadAsStringAsync();
        if (!stream)
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("upstream_invalid_response", text, StringComparison.Ordinal);
        }

        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.Equal(30, record.Tokens.OutputTokens);
    }

    // 4. Broken streams do not look like successes.
    [Theory]
    [InlineData("claude-cut", "/v1/chat/completions")]
    [InlineData("sim-cut", "/v1/messages")]
    [InlineData("sim-badsse", "/v1/messages")]
    [InlineData("sim-cut", "/v1/chat/completions")]
    public async Task A_cut_or_garbage_stream_ends_with_an_error_event_not_a_normal_ending(string model, string path)
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body(model, stream: true), path));
        var text = await response.Content.ReadAsStringAsync();
        if (path == "/v1/messages")
        {
            Assert.Contains("event: error", text, StringComparison.Ordinal);
            Assert.DoesNotContain("message_stop", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("\"error\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        }

        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.True(record.Cost.NanoUsd > 0);
    }

    [Fact]
    public async Task A_reasoning_models_cut_stream_is_charged_its_hold_in_full()
    {
        // Hidden reasoning tokens cannot be counted from the relayed text: usage unknown means the worst case.
        var (id, secret) = await _fixture.KeyWithCapAsync("5");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("o3-cut", stream: true, maxTokens: 500)));
        _ = await response.Content.ReadAsStringAsync();
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.Equal(500, record.Tokens.OutputTokens);
    }

    [Fact]
    public async Task A_non_sse_answer_to_a_stream_request_is_a_502_not_an_empty_200()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("sim-jsonstream", stream: true)));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream_invalid_response", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(UsageSource.Reported, record.Source);
        Assert.True(record.Cost.NanoUsd > 0);
    }

    // 5. Caller mistakes neither punish everyone nor get misnamed.
    [Fact]
    public async Task A_non_ascii_anthropic_version_is_the_callers_400_and_cools_nothing_down()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var bad = MeteringFixture.Chat(secret, """{"model":"claude-route","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages");
        bad.Headers.Remove("anthropic-version");
        bad.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01\u00e9");
        // An HTTP client that sends the header as UTF-8 bytes, as a careless agent's would.
        using var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 };
        using var utf8Client = new HttpClient(handler) { BaseAddress = _fixture.Http.BaseAddress };
        using (var response = await utf8Client.SendAsync(bad))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("anthropic-version", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The route's first target is not in cooldown: the next good call is served by it.
        using var good = MeteringFixture.Chat(secret, """{"model":"claude-route","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages");
        using (var response = await _fixture.Http.SendAsync(good))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("claude-ok", response.Headers.GetValues("x-route-served").Single());
        }

        await AssertBooksBalanceAsync(id, 2);
    }

    [Fact]
    public async Task A_caller_who_hangs_up_on_a_route_is_recorded_499_not_a_timeout()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        await WarmUpAsync(secret);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300), TimeProvider.System))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _fixture.Http.SendAsync(MeteringFixture.Chat(secret, Body("late-route")), cts.Token));
        }

        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(499, record.Status);
        Assert.Equal("client_closed", record.ErrorCode);
        Assert.True(record.Cost.NanoUsd > 0, "the route's call reached the provider");
    }

    [Fact]
    public async Task A_refused_request_stores_a_bounded_model_string()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        var model = new string('m', 100_000);
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, $$"""{"model":"{{model[..60_000]}}","messages":[]}"""));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.True(record.ModelAlias.Length <= 256, record.ModelAlias.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_malformed_chunked_body_is_a_400_in_the_callers_shape_not_a_413()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(_fixture.Http.BaseAddress!.Host, _fixture.Http.BaseAddress.Port);
        await using var stream = client.GetStream();
        var request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + secret
            + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{\"model\"\r\n0\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var statusLine = await reader.ReadLineAsync();
        Assert.StartsWith("HTTP/1.1 400", statusLine, StringComparison.Ordinal);
        var rest = await reader.ReadToEndAsync();
        Assert.Contains("invalid_request", rest, StringComparison.Ordinal);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(400, record.Status);
    }

    [Fact]
    public async Task A_translated_stream_carries_its_cost_in_the_final_usage_chunk()
    {
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        var body = """{"model":"claude-ok","max_tokens":50,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";
        using var response = await _fixture.Http.SendAsync(MeteringFixture.Chat(secret, body));
        var text = await response.Content.ReadAsStringAsync();
        var usageLine = text.Split("\n").Single(l => l.Contains("\"usage\":{", StringComparison.Ordinal));
        var cost = JsonDocument.Parse(usageLine["data: ".Length..]).RootElement.GetProperty("usage").GetProperty("cost").GetDecimal();
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(record.Cost.ToUsd(), cost);
    }

    [Fact]
    public async Task A_body_that_arrives_too_slowly_is_a_408_not_a_413()
    {
        // Kestrel's minimum request body data rate (240 bytes/s after a 5 s grace) ends the read; the caller is told
        // the body was too slow, not too large. The test waits on the server's answer, not on a clock of its own.
        var (id, secret) = await _fixture.KeyWithCapAsync("1");
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(_fixture.Http.BaseAddress!.Host, _fixture.Http.BaseAddress.Port);
        await using var stream = client.GetStream();
        var head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + secret
            + "\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"model\":";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        Assert.StartsWith("HTTP/1.1 408", statusLine, StringComparison.Ordinal);
        var record = Assert.Single(await AssertBooksBalanceAsync(id, 1));
        Assert.Equal(408, record.Status);
        Assert.Equal("request_timeout", record.ErrorCode);
    }
}
