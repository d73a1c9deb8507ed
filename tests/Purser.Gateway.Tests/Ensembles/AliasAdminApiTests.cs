using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>
/// Routing and ensemble aliases managed through <c>/admin/routes</c> and <c>/admin/ensembles</c>: validated by the
/// config file's rules, served to SDK callers at once, kept across a file reload and a restart.
/// </summary>
public sealed class AliasAdminApiTests : IAsyncLifetime
{
    private readonly EnsembleFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_route_and_an_ensemble_created_through_the_api_serve_sdk_calls_and_survive_a_reload_and_a_restart()
    {
        await PutOkAsync("/admin/routes/api-route", new JsonObject { ["targets"] = new JsonArray("broken", "pa"), ["cooldown_seconds"] = 5 });
        await PutOkAsync("/admin/ensembles/api-ens", new JsonObject
        {
            ["panel"] = new JsonArray(new JsonObject { ["model"] = "pa", ["temperature"] = 0.3 }, "api-route"),
            ["judge"] = "jd",
        });
        var secret = await _fixture.CreateKeyAsync("api-alias-user");

        await AssertServedAsync(secret);
        Assert.Empty(_fixture.Gateway.ReloadConfiguration());
        await AssertServedAsync(secret);

        await _fixture.RestartAsync();
        await AssertServedAsync(secret);
        var ensembles = await ListAsync("/admin/ensembles");
        var listed = Assert.Single(ensembles, e => e!["alias"]!.GetValue<string>() == "api-ens")!;
        Assert.Equal("api", listed["source"]!.GetValue<string>());
        Assert.Equal(2, listed["min_responses"]!.GetValue<int>());
        Assert.Contains(ensembles, e => e!["alias"]!.GetValue<string>() == "full" && e["source"]!.GetValue<string>() == "config");
        var routes = await ListAsync("/admin/routes");
        Assert.Equal("broken,pa", string.Join(',', Assert.Single(routes, r => r!["alias"]!.GetValue<string>() == "api-route")!["targets"]!.AsArray().Select(t => t!.GetValue<string>())));
    }

    [Fact]
    public async Task Lowering_max_cost_usd_through_the_api_degrades_the_next_request_with_its_header()
    {
        var definition = new JsonObject { ["panel"] = new JsonArray("pa", "pb"), ["judge"] = "jd", ["degrade_to"] = "judge" };
        await PutOkAsync("/admin/ensembles/capped", definition);
        var secret = await _fixture.CreateKeyAsync("capped-user");
        var chat = Client("capped", secret);
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 16 };

        var first = await chat.CompleteChatAsync([new UserChatMessage("which is best?")], options);
        Assert.False(first.GetRawResponse().Headers.TryGetValue("x-ensemble-degraded", out _));
        Assert.True(first.GetRawResponse().Headers.TryGetValue("x-ensemble-panel", out var panel));
        Assert.Equal("pa,pb", panel);

        // The judge alone projects about $0.0004 here, the whole ensemble more than $0.001.
        definition["max_cost_usd"] = "0.001";
        var updated = await PutOkAsync("/admin/ensembles/capped", definition);
        Assert.Equal("0.001", updated["max_cost_usd"]!.GetValue<string>().TrimEnd('0'));

        var second = await chat.CompleteChatAsync([new UserChatMessage("which is best?")], options);
        Assert.True(second.GetRawResponse().Headers.TryGetValue("x-ensemble-degraded", out var degraded));
        Assert.Equal("degraded_to:jd:max_cost_usd", degraded);
        Assert.True(second.GetRawResponse().Headers.TryGetValue("x-ensemble-served-by", out var servedBy));
        Assert.Equal("jd", servedBy);
    }

    [Theory]
    [InlineData("unknown member", """{"panel":["pa","ghost"],"judge":"jd"}""", "panel[1]")]
    [InlineData("unknown judge", """{"panel":["pa","pb"],"judge":"nobody"}""", "judge")]
    [InlineData("negative cap", """{"panel":["pa","pb"],"judge":"jd","max_cost_usd":-1}""", "max_cost_usd")]
    [InlineData("negative token cap", """{"panel":["pa","pb"],"judge":"jd","max_total_tokens":-5}""", "max_total_tokens")]
    [InlineData("min_responses over the panel", """{"panel":["pa","pb"],"judge":"jd","min_responses":3}""", "min_responses")]
    [InlineData("ensemble as member", """{"panel":["pa","full"],"judge":"jd"}""", "panel[1]")]
    [InlineData("unknown field", """{"panel":["pa"],"judge":"jd","max_cost":1}""", "max_cost")]
    [InlineData("unknown degrade target", """{"panel":["pa"],"judge":"jd","degrade_to":"ghost"}""", "degrade_to")]
    public async Task An_invalid_ensemble_is_refused_with_400_naming_the_field_and_changes_nothing(string why, string body, string field)
    {
        await PutOkAsync("/admin/ensembles/keep", JsonNode.Parse("""{"panel":["pa","pb"],"judge":"jd"}""")!.AsObject());

        using var response = await _fixture.Admin(HttpMethod.Put, "/admin/ensembles/keep", JsonNode.Parse(body)!.AsObject());

        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, why + ": " + json.ToJsonString());
        Assert.Equal(field, json["error"]!["param"]!.GetValue<string>());
        var kept = Assert.Single(await ListAsync("/admin/ensembles"), e => e!["alias"]!.GetValue<string>() == "keep")!;
        Assert.Equal("pa,pb", string.Join(',', kept["panel"]!.AsArray().Select(m => m!["model"]!.GetValue<string>())));
        Assert.Null(kept["max_cost_usd"]);
    }

    [Fact]
    public async Task A_route_cycle_through_api_routes_is_refused_naming_targets_and_the_routes_keep_serving()
    {
        await PutOkAsync("/admin/routes/r1", new JsonObject { ["targets"] = new JsonArray("pa") });
        await PutOkAsync("/admin/routes/r2", new JsonObject { ["targets"] = new JsonArray("r1") });

        using var response = await _fixture.Admin(HttpMethod.Put, "/admin/routes/r1", new JsonObject { ["targets"] = new JsonArray("r2") });

        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("targets", json["error"]!["param"]!.GetValue<string>());
        Assert.Contains("alias cycle", json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var secret = await _fixture.CreateKeyAsync("cycle-user");
        using var served = await _fixture.Http.SendAsync(_fixture.Chat(secret, EnsembleFixture.ChatBody("r2", 16)));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("pa", served.Headers.GetValues("x-route-served").Single());
    }

    [Fact]
    public async Task File_aliases_cannot_be_overwritten_and_a_route_in_use_cannot_be_deleted()
    {
        using (var clash = await _fixture.Admin(HttpMethod.Put, "/admin/routes/failover", new JsonObject { ["targets"] = new JsonArray("pa") }))
        {
            Assert.Equal(HttpStatusCode.Conflict, clash.StatusCode);
        }

        await PutOkAsync("/admin/routes/used", new JsonObject { ["targets"] = new JsonArray("pb") });
        await PutOkAsync("/admin/ensembles/user", new JsonObject { ["panel"] = new JsonArray("pa", "used"), ["judge"] = "used" });
        using (var inUse = await _fixture.Admin(HttpMethod.Delete, "/admin/routes/used", null))
        {
            var json = await BudgetFixture.ReadJsonAsync(inUse);
            Assert.Equal(HttpStatusCode.Conflict, inUse.StatusCode);
            Assert.Contains("ensembles.user", json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using (var deleted = await _fixture.Admin(HttpMethod.Delete, "/admin/ensembles/user", null))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using (var deleted = await _fixture.Admin(HttpMethod.Delete, "/admin/routes/used", null))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        using (var missing = await _fixture.Admin(HttpMethod.Delete, "/admin/routes/used", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        var secret = await _fixture.CreateKeyAsync("deleted-user");
        using var gone = await _fixture.Http.SendAsync(_fixture.Chat(secret, EnsembleFixture.ChatBody("user", 16)));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private async Task AssertServedAsync(string secret)
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 32 };
        var ensemble = await Client("api-ens", secret).CompleteChatAsync([new UserChatMessage("which is best?")], options);
        Assert.False(string.IsNullOrWhiteSpace(ensemble.Value.Content[0].Text));
        Assert.True(ensemble.GetRawResponse().Headers.TryGetValue("x-ensemble-panel", out var panel));
        Assert.Equal("pa,api-route", panel);
        Assert.True(ensemble.GetRawResponse().Headers.TryGetValue("x-ensemble-served-by", out var servedBy));
        Assert.Equal("jd", servedBy);

        var route = await Client("api-route", secret).CompleteChatAsync([new UserChatMessage("hello")], options);
        Assert.True(route.GetRawResponse().Headers.TryGetValue("x-route-served", out var routeServed));
        Assert.Equal("pa", routeServed);
        Assert.Equal("api-route", route.Value.Model);
    }

    private ChatClient Client(string model, string secret) => new(model, new ApiKeyCredential(secret), new OpenAIClientOptions
    {
        Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    private async Task<JsonObject> PutOkAsync(string path, JsonObject body)
    {
        using var response = await _fixture.Admin(HttpMethod.Put, path, body);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.IsSuccessStatusCode, json.ToJsonString());
        return json;
    }

    private async Task<JsonArray> ListAsync(string path)
    {
        using var response = await _fixture.Admin(HttpMethod.Get, path, null);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return json["data"]!.AsArray();
    }
}
