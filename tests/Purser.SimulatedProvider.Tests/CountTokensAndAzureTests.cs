using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Purser.SimulatedProvider.Tests;

/// <summary>Anthropic's <c>/v1/messages/count_tokens</c>, its refusal of system-role messages, and Azure OpenAI's URL shape.</summary>
public sealed class CountTokensAndAzureTests : IClassFixture<SimServerFixture>
{
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

    private readonly SimServerFixture sim;

    public CountTokensAndAzureTests(SimServerFixture sim)
    {
        this.sim = sim;
    }

    private static HttpRequestMessage CountRequest(string json)
    {
        var request = SimServerFixture.AnthropicRequest(json);
        request.RequestUri = new Uri("/v1/messages/count_tokens", UriKind.Relative);
        return request;
    }

    [Theory]
    [InlineData("""{"model":"claude-sim","system":"Be brief.","messages":[{"role":"user","content":"hello"}]}""")]
    [InlineData("""{"model":"claude-sim","system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"PNG"}}]}],"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}]}""")]
    public async Task Count_tokens_equals_the_input_tokens_the_same_message_reports(string json)
    {
        json = json.Replace("PNG", Png, StringComparison.Ordinal);
        var (countResponse, count) = await sim.SendJsonAsync(CountRequest(json));
        Assert.Equal(HttpStatusCode.OK, countResponse.StatusCode);
        Assert.Equal(["input_tokens"], count.AsObject().Select(p => p.Key));

        var withMax = JsonNode.Parse(json)!.AsObject();
        withMax["max_tokens"] = 10;
        var (_, message) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest(withMax.ToJsonString()));
        Assert.Equal((int)message["usage"]!["input_tokens"]!, (int)count["input_tokens"]!);
        Assert.True((int)count["input_tokens"]! > 0);
    }

    [Theory]
    [InlineData("""{"system":"x","messages":[{"role":"user","content":"hello"}]}""", "model")]
    [InlineData("""{"model":"claude-sim","messages":[]}""", "messages")]
    [InlineData("""{"model":"claude-sim","messages":[{"role":"system","content":"hello"}]}""", "Unexpected role \"system\"")]
    [InlineData("[1]", "JSON object")]
    public async Task Count_tokens_refuses_what_messages_refuses(string json, string mentions)
    {
        var (response, body) = await sim.SendJsonAsync(CountRequest(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
        Assert.Contains(mentions, (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task System_role_messages_are_refused_as_anthropic_does()
    {
        var (response, body) = await sim.SendJsonAsync(SimServerFixture.AnthropicRequest("""
            {"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"be brief"}]}
            """));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter", (string)body["error"]!["message"]!, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Azure(string path, string json, string? apiKey = "azure-key", bool bearer = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
        {
            if (bearer)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }
            else
            {
                request.Headers.Add("api-key", apiKey);
            }
        }

        return request;
    }

    [Fact]
    public async Task Azure_deployment_path_serves_chat_named_by_the_deployment()
    {
        var (response, body) = await sim.SendJsonAsync(Azure("/openai/deployments/sim-chat~out=3/chat/completions?api-version=2024-10-21",
            """{"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sim-chat~out=3", (string)body["model"]!);
        Assert.Equal(3, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Azure_deployment_path_serves_embeddings()
    {
        var (response, body) = await sim.SendJsonAsync(Azure("/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
            """{"input":"hello"}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("list", (string)body["object"]!);
        Assert.Equal("text-embedding-3-small", (string)body["model"]!);
    }

    [Fact]
    public async Task Azure_refuses_a_bearer_key_a_missing_key_and_a_missing_api_version()
    {
        const string Body = """{"messages":[{"role":"user","content":"hi"}]}""";
        var (bearer, bearerBody) = await sim.SendJsonAsync(Azure("/openai/deployments/sim-chat/chat/completions?api-version=2024-10-21", Body, bearer: true));
        var (missing, _) = await sim.SendJsonAsync(Azure("/openai/deployments/sim-chat/chat/completions?api-version=2024-10-21", Body, apiKey: null));
        var (noVersion, noVersionBody) = await sim.SendJsonAsync(Azure("/openai/deployments/sim-chat/chat/completions", Body));
        Assert.Equal(HttpStatusCode.Unauthorized, bearer.StatusCode);
        Assert.Equal("401", (string)bearerBody["error"]!["code"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noVersion.StatusCode);
        Assert.Equal("Resource not found", (string)noVersionBody["error"]!["message"]!);
    }
}
