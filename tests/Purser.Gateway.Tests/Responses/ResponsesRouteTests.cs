#pragma warning disable OPENAI001 // The Responses client is marked experimental by the SDK.
using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Responses;
using Purser.Gateway.Tests.Pipeline;
using Purser.Usage;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// <c>/v1/responses</c> on a route alias: served by the route's first target (<c>responses-route</c> = sim-ok, then
/// claude-ok), held and charged like a direct call of that model, recorded under the route's name; an ensemble is a
/// 400 with nothing charged.
/// </summary>
[Collection(MeteringCollection.Name)]
public sealed class ResponsesRouteTests
{
    private readonly MeteringFixture _fixture;

    public ResponsesRouteTests(MeteringFixture fixture) => _fixture = fixture;

    private ResponsesClient Client(string secret) => new(new ApiKeyCredential(secret), new ResponsesClientOptions
    {
        Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    [Fact]
    public async Task A_route_serves_a_responses_request_by_its_first_target_and_records_its_cost()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var response = (await Client(secret).CreateResponseAsync("responses-route", "Route me")).Value;
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(20, response.Usage.OutputTokenCount);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal("responses", record.Operation);
        Assert.Equal("responses-route", record.ModelAlias);
        Assert.Equal("sim-openai", record.Provider);
        Assert.Equal(UsageSource.Reported, record.Source);

        // sim-ok: $0.5 per million input, $1.5 output.
        Assert.Equal((response.Usage.InputTokenCount * 500L) + (20 * 1500L), record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(record.Cost.NanoUsd, spent);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task An_ensemble_is_refused_with_a_400_and_nothing_charged()
    {
        var (keyId, secret) = await _fixture.KeyWithCapAsync("1");
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client(secret).CreateResponseAsync("panel-with-liar", "Judge me"));
        Assert.Equal(400, refused.Status);
        Assert.Contains("ensemble", refused.Message, StringComparison.Ordinal);

        var record = Assert.Single(await _fixture.SettledAsync(keyId, 1));
        Assert.Equal(0, record.Cost.NanoUsd);
        var (_, spent, held) = await _fixture.BudgetAsync(keyId);
        Assert.Equal(0, spent);
        Assert.Equal(0, held);
    }
}
