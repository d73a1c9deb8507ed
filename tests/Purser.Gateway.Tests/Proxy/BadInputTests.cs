using System.Net;
using System.Text;
using System.Text.Json;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>Every bad input gets a clear error in the caller's format and charges nothing.</summary>
[Collection(GatewayCollection.Name)]
public sealed class BadInputTests
{
    private readonly GatewayFixture _fixture;

    public BadInputTests(GatewayFixture fixture) => _fixture = fixture;

    private async Task<(HttpStatusCode Status, JsonElement Body, string RequestId)> SendAsync(HttpRequestMessage request)
    {
        using var response = await _fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(GatewayFixture.ProviderSecret, text, StringComparison.Ordinal);
        var requestId = response.Headers.TryGetValues("x-request-id", out var ids) ? ids.First() : "";
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), requestId);
    }

    private async Task AssertChargedNothingAsync(string requestId)
    {
        var record = await _fixture.UsageOfAsync(requestId);
        Assert.Equal(0, record.Cost.NanoUsd);
        Assert.Equal(UsageSource.None, record.Source);
    }

    [Theory]
    [InlineData("{not json", "invalid_json", null)]
    [InlineData("[1,2]", "invalid_json", null)]
    [InlineData("""{"model":42,"messages":[]}""", "invalid_request", "model")]
    [InlineData("""{"model":"sim-chat","messages":"hello"}""", "invalid_request", "messages")]
    [InlineData("""{"model":"sim-chat","messages":[],"stream":"yes"}""", "invalid_request", "stream")]
    [InlineData("""{"model":"sim-chat","messages":[],"max_tokens":-3}""", "invalid_request", "max_tokens")]
    [InlineData("""{"model":"sim-chat","messages":[],"max_tokens":"many"}""", "invalid_request", "max_tokens")]
    [InlineData("""{"model":"sim-embed","messages":[{"role":"user","content":"hi"}]}""", "wrong_model_kind", "model")]
    public async Task Malformed_openai_requests_get_a_400_openai_error_and_charge_nothing(string body, string code, string? param)
    {
        var (status, json, requestId) = await SendAsync(Requests.Chat("sim-chat", body));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        if (param is not null)
        {
            Assert.Equal(param, error.GetProperty("param").GetString());
        }

        await AssertChargedNothingAsync(requestId);
    }

    [Fact]
    public async Task Malformed_anthropic_request_gets_an_anthropic_shaped_error()
    {
        var (status, json, requestId) = await SendAsync(Requests.Messages("{oops"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", json.GetProperty("error").GetProperty("type").GetString());
        await AssertChargedNothingAsync(requestId);
    }

    [Fact]
    public async Task Body_over_the_limit_is_refused_with_413()
    {
        var huge = "{\"model\":\"sim-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 100_000) + "\"}]}";
        var (status, json, requestId) = await SendAsync(Requests.Chat("sim-chat", huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("request_too_large", json.GetProperty("error").GetProperty("code").GetString());
        await AssertChargedNothingAsync(requestId);
    }

    [Fact]
    public async Task Missing_key_gets_401_in_each_format()
    {
        var (openAiStatus, openAi, _) = await SendAsync(Requests.Post("/v1/chat/completions", """{"model":"sim-chat","messages":[]}""", secret: null));
        Assert.Equal(HttpStatusCode.Unauthorized, openAiStatus);
        Assert.Equal("missing_api_key", openAi.GetProperty("error").GetProperty("code").GetString());

        var anthropicRequest = Requests.Post("/v1/messages", """{"model":"claude-sim","max_tokens":10,"messages":[]}""", secret: null);
        var (anthropicStatus, anthropic, _) = await SendAsync(anthropicRequest);
        Assert.Equal(HttpStatusCode.Unauthorized, anthropicStatus);
        Assert.Equal("authentication_error", anthropic.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_model_marked_free_costs_nothing()
    {
        // A model with no price and not marked free is refused when the configuration is loaded (ConfigLoaderTests).
        var (freeStatus, _, requestId) = await SendAsync(Requests.Chat("free-model", """{"model":"free-model","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, freeStatus);
        var record = await _fixture.UsageOfAsync(requestId);
        Assert.Equal(20, record.Tokens.OutputTokens);
        Assert.Equal(0, record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Upstream_garbage_is_a_502_charged_its_hold_since_the_provider_got_the_request()
    {
        var (status, json, requestId) = await SendAsync(Requests.Chat("sim-garbage", """{"model":"sim-garbage","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal("upstream_invalid_response", json.GetProperty("error").GetProperty("code").GetString());
        var record = await _fixture.UsageOfAsync(requestId);
        Assert.Equal(UsageSource.Held, record.Source);
        Assert.True(record.Cost.NanoUsd > 0, "bytes went upstream: never $0");
    }

    [Fact]
    public async Task Upstream_500_is_passed_on_as_a_server_error_in_the_callers_format()
    {
        var (status, json, requestId) = await SendAsync(Requests.Chat("sim-500", """{"model":"sim-500","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(500, (int)status);
        Assert.True(json.TryGetProperty("error", out _));
        await AssertChargedNothingAsync(requestId);
    }

    [Fact]
    public async Task Upstream_timeout_is_a_504()
    {
        var (status, json, _) = await SendAsync(Requests.Chat("sim-timeout", """{"model":"sim-timeout","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Equal("upstream_timeout", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Malformed_upstream_stream_ends_with_an_error_frame()
    {
        using var response = await _fixture.Http.SendAsync(Requests.Chat("sim-badsse", """{"model":"sim-badsse","stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("upstream_invalid_response", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{not json", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provider_key_is_sent_upstream_but_never_shown_to_callers()
    {
        var request = Requests.Chat("sim-chat", """{"model":"sim-chat","messages":[{"role":"user","content":"hi"}]}""");
        using var response = await _fixture.Http.SendAsync(request);
        var all = new StringBuilder(await response.Content.ReadAsStringAsync());
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            all.Append(header.Key).Append(string.Join(",", header.Value));
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(GatewayFixture.ProviderSecret, all.ToString(), StringComparison.Ordinal);
    }
}
