using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Purser.Gateway.Hosting;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;
using Purser.SimulatedProvider;
using Purser.Usage;

namespace Purser.Gateway.Tests.Proxy;

/// <summary>
/// Azure OpenAI (<c>kind: azure_openai</c>) and Gemini (its OpenAI-compatible endpoint, <c>kind: openai</c>) against the
/// simulator, which serves Azure's deployment URLs only with an <c>api-key</c> header and an <c>api-version</c> — so a
/// 200 proves the gateway rewrote the URL and the auth header — and Gemini's <c>/v1beta/openai</c> base.
/// </summary>
public sealed class ProviderKindsTests : IClassFixture<ProviderKindsTests.Fixture>
{
    private readonly Fixture _fixture;

    public ProviderKindsTests(Fixture fixture) => _fixture = fixture;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Azure_chat_goes_to_the_deployment_url_with_the_api_key_header_and_is_charged(bool stream)
    {
        using var response = await _fixture.Http.SendAsync(Requests.Chat("azure-chat",
            $$"""{"model":"azure-chat","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hello azure"}]}""", Fixture.Secret));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("azure", record.Provider);
        Assert.Equal(7, record.Tokens.OutputTokens);
        Assert.Equal(UsageSource.Reported, record.Source);

        // price: { input: 1, output: 2 } per million = 1,000 and 2,000 nano-dollars per token.
        Assert.Equal((record.Tokens.InputTokens * 1_000) + (7 * 2_000), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Azure_serves_an_anthropic_caller_and_embeddings()
    {
        using var messages = await _fixture.Http.SendAsync(Requests.Messages("""{"model":"azure-chat","max_tokens":50,"messages":[{"role":"system","content":"terse"},{"role":"user","content":"hi"}]}""", Fixture.Secret));
        Assert.True(messages.StatusCode == HttpStatusCode.OK, await messages.Content.ReadAsStringAsync());

        using var embeddings = await _fixture.Http.SendAsync(Requests.Post("/v1/embeddings", """{"model":"azure-embed","input":"embed me"}""", Fixture.Secret));
        var body = JsonNode.Parse(await embeddings.Content.ReadAsStringAsync())!;
        Assert.True(embeddings.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.Equal("list", (string)body["object"]!);
        var record = await _fixture.UsageOfAsync(embeddings.Headers.GetValues("x-request-id").Single());
        Assert.Equal("embeddings", record.Operation);

        // The catalog's text-embedding-3-small: $0.02 per million = 20 nano-dollars per token.
        Assert.Equal(record.Tokens.InputTokens * 20, record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Gemini_through_its_openai_endpoint_is_charged_at_catalog_prices()
    {
        using var response = await _fixture.Http.SendAsync(Requests.Chat("gemini-flash", """{"model":"gemini-flash","max_tokens":64,"messages":[{"role":"user","content":"hello gemini"}]}""", Fixture.Secret));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("gemini-2.5-flash", record.UpstreamModel);
        Assert.True(record.Tokens.OutputTokens > 0);

        // The catalog's gemini-2.5-flash: $0.30 input and $2.50 output per million = 300 and 2,500 nano-dollars per token.
        Assert.Equal((record.Tokens.InputTokens * 300) + (record.Tokens.OutputTokens * 2_500), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Count_tokens_for_an_azure_model_is_counted_locally()
    {
        using var response = await _fixture.Http.SendAsync(Requests.CountTokens("""{"model":"azure-chat","messages":[{"role":"user","content":"hi"}]}""", Fixture.Secret));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((long)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["input_tokens"]! > 0);
    }

    public sealed class Fixture : IAsyncLifetime
    {
        public const string Secret = "sk-purser-provider-kinds";

        private SimulatedProviderServer? _simulator;

        public GatewayHost Gateway { get; private set; } = null!;

        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public string Directory { get; } = Path.Combine(Path.GetTempPath(), "purser-kinds-" + Guid.NewGuid().ToString("N"));

        public async Task InitializeAsync()
        {
            System.IO.Directory.CreateDirectory(Directory);
            _simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0");
            var sim = _simulator.BaseAddress.AbsoluteUri.TrimEnd('/');
            var path = Path.Combine(Directory, "purser.yaml");
            await File.WriteAllTextAsync(path, $$"""
                server:
                  listen: http://127.0.0.1:0
                  upstream_timeout_seconds: 5
                storage:
                  sqlite_path: purser.db
                providers:
                  azure: { kind: azure_openai, base_url: "{{sim}}", api_key: azure-secret, api_version: "2024-10-21" }
                  gemini: { kind: openai, base_url: "{{sim}}/v1beta/openai", api_key: gemini-secret }
                models:
                  azure-chat: { provider: azure, upstream: "sim-chat~out=7", price: { input: 1, output: 2 } }
                  azure-embed: { provider: azure, upstream: text-embedding-3-small, kind: embeddings }
                  gemini-flash: { provider: gemini, upstream: gemini-2.5-flash }
                keys:
                  - id: kinds-key
                    hash: {{KeyHasher.Hash(Secret)}}
                """);
            Gateway = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = path, Urls = "http://127.0.0.1:0", MinimumLogLevel = LogLevel.Warning });
            Http.BaseAddress = Gateway.BaseAddress;
        }

        public async Task<UsageRecord> UsageOfAsync(string requestId)
        {
            await Gateway.FlushUsageAsync();
            var records = await Gateway.Usage.QueryAsync(new UsageQuery { Limit = 1_000 }, CancellationToken.None);
            return Assert.Single(records, r => r.RequestId == requestId);
        }

        public Task DisposeAsync() => FixtureSupport.TearDownAsync(Http, Gateway, _simulator, Directory);
    }
}
