using System.Net;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>Routing aliases fail over along their targets, and a failing target cools down.</summary>
[Collection(EnsembleCollection.Name)]
public sealed class RoutingTests
{
    private readonly EnsembleFixture _fixture;

    public RoutingTests(EnsembleFixture fixture) => _fixture = fixture;

    private static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    [Fact]
    public async Task A_route_whose_first_target_returns_500_serves_from_the_second_and_the_failing_one_cools_down()
    {
        var secret = await _fixture.CreateKeyAsync("route-failover");
        var body = EnsembleFixture.ChatBody("failover", 40);

        using (var first = await _fixture.Http.SendAsync(_fixture.Chat(secret, body)))
        {
            var json = await BudgetFixture.ReadJsonAsync(first);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal("broken,pa", Header(first, "x-route-tried"));
            Assert.Equal("pa", Header(first, "x-route-served"));
            Assert.Equal("failover", json["model"]!.GetValue<string>());
            Assert.Equal(10, json["usage"]!["completion_tokens"]!.GetValue<long>());
        }

        using (var cooling = await _fixture.Http.SendAsync(_fixture.Chat(secret, body)))
        {
            Assert.Equal(HttpStatusCode.OK, cooling.StatusCode);
            Assert.Equal("pa", Header(cooling, "x-route-tried"));
        }

        _fixture.Time.Advance(TimeSpan.FromSeconds(31));
        using (var cooled = await _fixture.Http.SendAsync(_fixture.Chat(secret, body)))
        {
            Assert.Equal(HttpStatusCode.OK, cooled.StatusCode);
            Assert.Equal("broken,pa", Header(cooled, "x-route-tried"));
        }

        var records = await _fixture.UsageOfKeyAsync("route-failover");
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("sim-chat~out=10", r.UpstreamModel));
        Assert.All(records, r => Assert.True(r.Cost.NanoUsd > 0));
    }

    [Fact]
    public async Task Routes_and_ensembles_are_listed_with_the_models()
    {
        var secret = await _fixture.CreateKeyAsync("route-list");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
        using var response = await _fixture.Http.SendAsync(request);
        var ids = (await BudgetFixture.ReadJsonAsync(response))["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();

        Assert.Contains("pa", ids);
        Assert.Contains("failover", ids);
        Assert.Contains("full", ids);
    }

    [Fact]
    public async Task An_alias_that_is_neither_model_route_nor_ensemble_is_still_a_404()
    {
        var secret = await _fixture.CreateKeyAsync("route-unknown");
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, EnsembleFixture.ChatBody("no-such-route", 40)));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
