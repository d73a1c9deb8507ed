using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Microsoft.ML.Tokenizers;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Sdk;

/// <summary>
/// <c>POST /v1/messages/count_tokens</c> through the official Anthropic SDK: forwarded to an Anthropic upstream
/// (the simulator counts as it bills), counted with the tokeniser for an OpenAI-format model; free, one $0 record.
/// </summary>
[Collection(GatewayCollection.Name)]
public sealed class CountTokensSdkTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForEncoding("o200k_base");

    private readonly GatewayFixture _fixture;

    public CountTokensSdkTests(GatewayFixture fixture) => _fixture = fixture;

    private AnthropicClient Client(string secret = GatewayFixture.Secret) => new()
    {
        ApiKey = secret,
        BaseUrl = _fixture.BaseAddress.AbsoluteUri.TrimEnd('/'),
        MaxRetries = 0,
    };

    [Fact]
    public async Task Same_format_count_is_the_input_the_same_message_is_billed()
    {
        var tool = new Tool
        {
            Name = "lookup",
            Description = "Look something up",
            InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["q"] = JsonDocument.Parse("""{"type":"string"}""").RootElement } },
        };
        var count = await Client().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-sim",
            System = "Answer in one line.",
            Messages = [new UserMessageParam("How many tokens is this?")],
            Tools = [tool],
        });
        var message = await Client().Messages.Create(new MessageCreateParams
        {
            Model = "claude-sim",
            MaxTokens = 16,
            System = "Answer in one line.",
            Messages = [new UserMessageParam("How many tokens is this?")],
            Tools = [tool],
        });

        Assert.True(count.InputTokens > 0);
        Assert.Equal(message.Usage.InputTokens, count.InputTokens);
    }

    [Fact]
    public async Task Translated_count_is_the_exact_tokeniser_count_of_the_openai_request()
    {
        var count = await Client().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "sim-chat",
            System = "Be brief.",
            Messages = [new UserMessageParam("Hello GPT, how many tokens?"), new AssistantMessageParam("Some."), new UserMessageParam("Exactly?")],
        });

        // OpenAI's count: 3 per message plus its role and content, 3 for the reply primer (o200k_base for sim-chat).
        long Message(string role, string content) => 3 + O200k.CountTokens(role) + O200k.CountTokens(content);
        var expected = 3 + Message("system", "Be brief.") + Message("user", "Hello GPT, how many tokens?") + Message("assistant", "Some.") + Message("user", "Exactly?");
        Assert.Equal(expected, count.InputTokens);
    }

    [Theory]
    [InlineData("claude-sim")]
    [InlineData("sim-chat")]
    public async Task A_count_is_free_and_leaves_one_zero_cost_record(string model)
    {
        using var response = await _fixture.Http.SendAsync(Requests.CountTokens($$"""{"model":"{{model}}","messages":[{"role":"user","content":"count me"}]}"""));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(["input_tokens"], body.Select(p => p.Key));
        Assert.False(response.Headers.Contains("x-request-cost"));

        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("count_tokens", record.Operation);
        Assert.Equal(model, record.ModelAlias);
        Assert.Equal(0, record.Cost.NanoUsd);
        Assert.Equal(200, record.Status);
        Assert.Equal(UsageSource.None, record.Source);
    }

    [Fact]
    public async Task A_model_the_key_may_not_use_is_refused_in_the_anthropic_shape()
    {
        var ex = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client(GatewayFixture.LimitedSecret).Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-sim",
            Messages = [new UserMessageParam("hi")],
        }));
        Assert.Equal(403, (int)ex.StatusCode);

        var missing = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Client().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "no-such-model",
            Messages = [new UserMessageParam("hi")],
        }));
        Assert.Equal(404, (int)missing.StatusCode);
    }

    [Fact]
    public async Task An_upstream_refusal_is_relayed_and_charges_nothing()
    {
        using var response = await _fixture.Http.SendAsync(Requests.CountTokens("""{"model":"claude-429","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("error", (string)body["type"]!);
        Assert.Equal("rate_limit_error", (string)body["error"]!["type"]!);
        var record = await _fixture.UsageOfAsync(response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(0, record.Cost.NanoUsd);
        Assert.Equal(429, record.Status);
    }
}
