using System.Net;
using CsCheck;
using System.Text.Json;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Hosting;

/// <summary>
/// The probes a load balancer uses, and what a caller gets for a path or method the gateway does not serve: an error
/// body in its SDK's shape (OpenAI's, or Anthropic's under /v1/messages), never an empty 404 or 405.
/// </summary>
public sealed class ProbeAndRouteTests : IClassFixture<GatewayFixture>
{
    private readonly GatewayFixture _gateway;

    public ProbeAndRouteTests(GatewayFixture gateway) => _gateway = gateway;

    [Fact]
    public async Task Healthz_and_readyz_answer_200_on_a_gateway_with_its_ledger()
    {
        using var http = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var live = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok", await live.Content.ReadAsStringAsync());

        using var ready = await http.GetAsync("/readyz");
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("ready", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("ledger").GetString());
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("configuration").GetString());
    }

    [Theory]
    [InlineData("GET", "/nope", 404, "openai", "unknown_route")]
    [InlineData("POST", "/v1/chat/completion", 404, "openai", "unknown_route")]
    [InlineData("GET", "/v1/chat/completions", 405, "openai", "method_not_allowed")]
    [InlineData("DELETE", "/v1/embeddings", 405, "openai", "method_not_allowed")]
    [InlineData("PUT", "/v1/models", 405, "openai", "method_not_allowed")]
    [InlineData("GET", "/v1/messages", 405, "anthropic", "invalid_request_error")]
    [InlineData("GET", "/v1/messages/count_tokens", 405, "anthropic", "invalid_request_error")]
    [InlineData("POST", "/v1/messages/batches", 404, "anthropic", "not_found_error")]
    [InlineData("DELETE", "/v1/models/sim-chat", 405, "openai", "method_not_allowed")]
    [InlineData("GET", "/admin/nothing-here", 404, "openai", "unknown_route")]
    public async Task Unknown_routes_and_methods_answer_in_the_callers_error_shape(string method, string path, int status, string shape, string code)
    {
        using var http = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Contains(path, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        if (shape == "anthropic")
        {
            Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
            Assert.Equal(code, error.GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        }

        if (status == 405)
        {
            Assert.NotEmpty(response.Content.Headers.Allow);
        }
    }

    [Fact]
    public async Task Any_unserved_path_and_method_is_a_4xx_error_body_in_the_shape_of_its_api_never_a_500_or_empty()
    {
        string[] methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        string[] served = ["v1", "admin", "ui", "health", "healthz", "readyz", "metrics"];

        // Segments with the characters a path may carry once escaped: unicode, dots, percent signs, spaces, quotes.
        var segment = Gen.String[Gen.Char["abcXYZ019-._~%!$&'()*+,;=:@ \"<>éß漢😀"], 1, 24];
        // Each segment starts with a letter: a segment of dots alone would be resolved away by the client before sending.
        var segments = segment.Select(x => "s" + x).Array[1, 4].Select(a => string.Join('/', a.Select(Uri.EscapeDataString)));
        var path = Gen.OneOf(
            segments.Where(p => !served.Contains(p.Split('/')[0], StringComparer.OrdinalIgnoreCase)).Select(p => "/" + p), // a first segment of its own
            segments.Select(p => "/v1/messages/" + p), // Anthropic's namespace
            segments.Select(p => "/v1/" + p)); // OpenAI's namespace (no served route starts with "s")
        using var http = new HttpClient { BaseAddress = _gateway.BaseAddress };
        await Gen.Select(Gen.Int[0, methods.Length - 1], path).SampleAsync(async (m, p) =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(methods[m]), p);
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is 404 or 405, $"{methods[m]} {p}: {(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            if (p.StartsWith("/v1/messages", StringComparison.Ordinal))
            {
                Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
                Assert.Equal("not_found_error", json.RootElement.GetProperty("error").GetProperty("type").GetString());
            }
            else
            {
                Assert.Equal("unknown_route", json.RootElement.GetProperty("error").GetProperty("code").GetString());
            }
        }, iter: 150, threads: 1);
    }

    [Fact]
    public async Task An_endpoints_own_404_keeps_its_body()
    {
        using var http = new HttpClient { BaseAddress = _gateway.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFixture.Secret);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("model_not_found", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}
