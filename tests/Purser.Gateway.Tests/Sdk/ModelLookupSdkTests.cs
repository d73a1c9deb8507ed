using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Exceptions;
using OpenAI;
using OpenAI.Models;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Sdk;

/// <summary><c>GET /v1/models/{id}</c> in OpenAI's shape and, with <c>anthropic-version</c>, Anthropic's; filtered like the list.</summary>
[Collection(GatewayCollection.Name)]
public sealed class ModelLookupSdkTests
{
    private readonly GatewayFixture _fixture;

    public ModelLookupSdkTests(GatewayFixture fixture) => _fixture = fixture;

    private OpenAIModelClient OpenAi(string secret = GatewayFixture.Secret) =>
        new(new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = new Uri(_fixture.BaseAddress, "v1/"), RetryPolicy = new ClientRetryPolicy(0) });

    private AnthropicClient Anthropic(string secret = GatewayFixture.Secret) => new()
    {
        ApiKey = secret,
        BaseUrl = _fixture.BaseAddress.AbsoluteUri.TrimEnd('/'),
        MaxRetries = 0,
    };

    [Fact]
    public async Task Openai_sdk_gets_a_model_with_its_provider()
    {
        var model = (await OpenAi().GetModelAsync("claude-sim")).Value;
        Assert.Equal("claude-sim", model.Id);
        Assert.Equal("sim-anthropic", model.OwnedBy);
    }

    [Fact]
    public async Task Anthropic_sdk_retrieves_a_model_in_its_shape()
    {
        var model = await Anthropic().Models.Retrieve("sim-chat");
        Assert.Equal("sim-chat", model.ID);
        Assert.Equal("sim-chat", model.DisplayName);
        Assert.True(model.CreatedAt > DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public async Task A_model_the_key_may_not_use_is_not_found_like_an_unknown_one()
    {
        var hidden = await Assert.ThrowsAsync<ClientResultException>(() => OpenAi(GatewayFixture.LimitedSecret).GetModelAsync("claude-sim"));
        Assert.Equal(404, hidden.Status);
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => OpenAi().GetModelAsync("no-such-model"));
        Assert.Equal(404, unknown.Status);
        var anthropic = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Anthropic(GatewayFixture.LimitedSecret).Models.Retrieve("claude-sim"));
        Assert.Equal(404, (int)anthropic.StatusCode);
        Assert.Equal("sim-chat", (await OpenAi(GatewayFixture.LimitedSecret).GetModelAsync("sim-chat")).Value.Id);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_404_has_a_body_in_the_callers_shape(bool anthropicShape)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models/no-such-model");
        request.Headers.Add("x-api-key", GatewayFixture.Secret);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFixture.Secret);
        if (anthropicShape)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }

        using var response = await _fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if (anthropicShape)
        {
            Assert.Equal("error", (string)body["type"]!);
            Assert.Equal("not_found_error", (string)body["error"]!["type"]!);
        }
        else
        {
            Assert.Equal("model_not_found", (string)body["error"]!["code"]!);
        }
    }

    [Fact]
    public async Task The_anthropic_list_shape_is_served_with_anthropic_version()
    {
        var page = await Anthropic(GatewayFixture.LimitedSecret).Models.List();
        Assert.Equal("sim-chat", Assert.Single(page.Items).ID);
    }
}
