using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>A routing alias takes Anthropic requests with <c>role: "system"</c> entries, and counts their tokens, like a model does.</summary>
[Collection(EnsembleCollection.Name)]
public sealed class SystemRoleRouteTests
{
    private readonly EnsembleFixture _fixture;

    public SystemRoleRouteTests(EnsembleFixture fixture) => _fixture = fixture;

    private const string Turn = """
        {"model":"MODEL","max_tokens":40,"system":"You are an agent.","messages":[
          {"role":"user","content":"start"},
          {"role":"system","content":[{"type":"text","text":"<system-reminder>be careful</system-reminder>"}]},
          {"role":"user","content":"go"}]}
        """;

    [Fact]
    public async Task A_route_to_an_openai_format_model_serves_a_turn_with_system_entries()
    {
        using (var put = await _fixture.Admin(HttpMethod.Put, "/admin/routes/sys-route", new JsonObject { ["targets"] = new JsonArray("pa", "pc") }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        using (var put = await _fixture.Admin(HttpMethod.Put, "/admin/routes/sys-route-outer", new JsonObject { ["targets"] = new JsonArray("sys-route") }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        var secret = await _fixture.CreateKeyAsync("system-role-route");
        using (var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, Turn.Replace("MODEL", "sys-route", StringComparison.Ordinal), "/v1/messages")))
        {
            var json = await BudgetFixture.ReadJsonAsync(response);
            Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToJsonString());
            Assert.Equal("pa", response.Headers.GetValues("x-route-served").Single());
            Assert.Equal("message", json["type"]!.GetValue<string>());
        }

        using var count = _fixture.Chat(secret, Turn.Replace("MODEL", "sys-route-outer", StringComparison.Ordinal), "/v1/messages");
        count.RequestUri = new Uri("/v1/messages/count_tokens", UriKind.Relative);
        using var counted = await _fixture.Http.SendAsync(count);
        var body = await BudgetFixture.ReadJsonAsync(counted);
        Assert.True(counted.StatusCode == HttpStatusCode.OK, body.ToJsonString());
        Assert.True(body["input_tokens"]!.GetValue<long>() > 10);
    }
}
