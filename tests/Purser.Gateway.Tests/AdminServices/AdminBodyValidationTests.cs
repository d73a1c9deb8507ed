using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.AdminServices;

/// <summary>
/// One validation path per admin resource: keys, budgets, Bedtime policies, rate limits, routes, ensembles and webhooks
/// refuse wrong JSON types, duplicate names, lone surrogates and out-of-range amounts with a 400 naming the field (never
/// a 500 or an empty body), and a PATCH with any invalid field leaves the key exactly as it was.
/// </summary>
[Collection(BudgetCollection.Name)]
public sealed class AdminBodyValidationTests
{
    private const string Ensemble = "\"panel\":[{\"model\":\"sim-chat\"}],\"judge\":{\"model\":\"sim-chat\"}";

    private readonly BudgetFixture _fixture;

    public AdminBodyValidationTests(BudgetFixture fixture) => _fixture = fixture;

    public static TheoryData<string, string, string, string> WrongBodies() => new()
    {
        // Keys: a wrong type is refused, never dropped (a dropped team would make a key outside its team's budgets).
        { "POST", "/admin/keys", """{"id":"wt-1","team":5}""", "team" },
        { "POST", "/admin/keys", """{"id":"wt-2","expires_at":1798761600}""", "expires_at" },
        { "POST", "/admin/keys", """{"id":"wt-3","expires_at":"2027-01-01"}""", "expires_at" },
        { "POST", "/admin/keys", """{"id":"wt-4","models":"sim-chat"}""", "models" },
        { "POST", "/admin/keys", """{"id":"wt-5","models":[5]}""", "models[0]" },
        { "POST", "/admin/keys", """{"id":"wt-6","trust_tags":"yes"}""", "trust_tags" },
        { "POST", "/admin/keys", """{"id":7}""", "id" },
        { "POST", "/admin/keys", """{"id":"wt-8","secret":"sk-chosen-by-the-caller"}""", "secret" },

        // Budgets: out-of-range, negative and not-a-number amounts, and wrong types.
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":true}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":"7.93e19"}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":79300000000000000000}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":1e400}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":-1}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":"NaN"}""", "cap_usd" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_tokens":"5"}""", "cap_tokens" },
        { "PUT", "/admin/budgets/wt", """{"scope":5,"cap_usd":"1"}""", "scope" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":"1","alert_thresholds":["50"]}""", "alert_thresholds[0]" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":"1","degrade":{"throttle_rpm":"5"}}""", "degrade.throttle_rpm" },
        { "PUT", "/admin/budgets/wt", """{"scope":"org:acme","cap_usd":"1","window":7}""", "window" },

        // Bedtime policies.
        { "PUT", "/admin/bedtime/team:tight-team", """{"enabled":"yes"}""", "enabled" },
        { "PUT", "/admin/bedtime/team:tight-team", """{"baseline_days":"7"}""", "baseline_days" },
        { "PUT", "/admin/bedtime/team:tight-team", """{"floor_usd":79300000000000000000}""", "floor_usd" },
        { "PUT", "/admin/bedtime/team:tight-team", """{"floor_usd":"NaN"}""", "floor_usd" },
        { "PUT", "/admin/bedtime/team:tight-team", """{"multiplier":true}""", "multiplier" },
        { "PUT", "/admin/bedtime/team:tight-team", """{"hours":2300}""", "hours" },

        // Rate limits, routes, ensembles and webhooks.
        { "PUT", "/admin/rate-limits/wt", """{"scope":"org:acme","requests_per_minute":"60"}""", "requests_per_minute" },
        { "PUT", "/admin/rate-limits/wt", """{"scope":"org:acme","requests_per_minute":1e400}""", "requests_per_minute" },
        { "PUT", "/admin/routes/wt-route", """{"targets":"sim-chat"}""", "targets" },
        { "PUT", "/admin/routes/wt-route", """{"targets":["sim-chat"],"cooldown_seconds":"5"}""", "cooldown_seconds" },
        { "PUT", "/admin/ensembles/wt-ensemble", "{" + Ensemble + ",\"max_cost_usd\":79300000000000000000}", "max_cost_usd" },
        { "PUT", "/admin/ensembles/wt-ensemble", "{" + Ensemble + ",\"min_responses\":\"1\"}", "min_responses" },
        { "POST", "/admin/webhooks", """{"url":5}""", "url" },
    };

    [Theory]
    [MemberData(nameof(WrongBodies))]
    public async Task A_wrong_type_or_an_out_of_range_amount_is_a_400_naming_the_field(string method, string path, string body, string field)
    {
        using var response = await SendAsync(new HttpMethod(method), path, body);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, json["error"]!["param"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(json["error"]!["message"]!.GetValue<string>()));
    }

    public static TheoryData<string, string, string> Resources() => new()
    {
        { "POST", "/admin/keys", "\"id\":\"hostile\"" },
        { "PUT", "/admin/budgets/hostile", "\"scope\":\"org:acme\",\"cap_usd\":\"1\"" },
        { "PUT", "/admin/bedtime/team:wide-team", "\"enabled\":true" },
        { "PUT", "/admin/rate-limits/hostile", "\"scope\":\"org:acme\",\"requests_per_minute\":5" },
        { "PUT", "/admin/routes/hostile", "\"targets\":[\"sim-chat\"]" },
        { "PUT", "/admin/ensembles/hostile", Ensemble },
        { "POST", "/admin/webhooks", "\"url\":\"http://127.0.0.1:9/hook\"" },
    };

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Duplicate_names_and_lone_surrogates_are_a_400_naming_the_field(string method, string path, string valid)
    {
        using (var duplicate = await SendAsync(new HttpMethod(method), path, "{" + valid + ",\"dup\":1,\"dup\":2}"))
        {
            var json = await BudgetFixture.ReadJsonAsync(duplicate);
            Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);
            Assert.Equal("dup", json["error"]!["param"]!.GetValue<string>());
        }

        using (var surrogate = await SendAsync(new HttpMethod(method), path, "{" + valid + ",\"lone\":\"\\ud800\"}"))
        {
            var json = await BudgetFixture.ReadJsonAsync(surrogate);
            Assert.Equal(HttpStatusCode.BadRequest, surrogate.StatusCode);
            Assert.Equal("lone", json["error"]!["param"]!.GetValue<string>());
        }

        // An unknown field is refused too (it is not silently ignored), and named.
        using var unknown = await SendAsync(new HttpMethod(method), path, "{" + valid + ",\"colour\":\"red\"}");
        if (path != "/admin/webhooks")
        {
            var json = await BudgetFixture.ReadJsonAsync(unknown);
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            Assert.Equal("colour", json["error"]!["param"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_patch_with_any_invalid_field_changes_nothing_and_a_valid_one_changes_only_its_fields()
    {
        using (var created = await SendAsync(HttpMethod.Post, "/admin/keys", """{"id":"patched","team":"tight-team","models":["sim-chat"],"expires_at":"2099-01-01T00:00:00Z"}"""))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        string[] invalid =
        [
            """{"team":5}""",
            """{"expires_at":1798761600}""",
            """{"trust_tags":true,"team":5}""",
            """{"models":["sim-chat"],"expires_at":"tomorrow"}""",
            """{"team":"no-such-team"}""",
            """{"models":"sim-chat"}""",
            """{"id":"renamed"}""",
            """{"secret":"sk-chosen-by-the-caller"}""",
            """{"trust_end_user":"true"}""",
        ];
        foreach (var body in invalid)
        {
            var before = await KeyAsync("patched");
            using var refused = await SendAsync(HttpMethod.Patch, "/admin/keys/patched", body);
            var json = await BudgetFixture.ReadJsonAsync(refused);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.NotNull(json["error"]!["param"]);
            Assert.Equal(before, await KeyAsync("patched"));
        }

        using (var valid = await SendAsync(HttpMethod.Patch, "/admin/keys/patched", """{"trust_tags":true}"""))
        {
            Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        }

        var after = JsonNode.Parse(await KeyAsync("patched"))!;
        Assert.Equal("tight-team", after["team"]!.GetValue<string>());
        Assert.StartsWith("2099-01-01T00:00:00", after["expires_at"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["sim-chat"], after["models"]!.AsArray().Select(m => m!.GetValue<string>()));

        // null clears the team and the expiry, as the API documents.
        using (var cleared = await SendAsync(HttpMethod.Patch, "/admin/keys/patched", """{"team":null,"expires_at":null}"""))
        {
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        }

        var clearedKey = JsonNode.Parse(await KeyAsync("patched"))!;
        Assert.Null(clearedKey["team"]);
        Assert.Null(clearedKey["expires_at"]);
    }

    [Fact]
    public async Task Missing_and_clashing_resources_are_the_error_tables_404_and_409()
    {
        using (var missing = await SendAsync(HttpMethod.Patch, "/admin/keys/never-created", """{"trust_tags":true}"""))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("not_found", (await BudgetFixture.ReadJsonAsync(missing))["error"]!["code"]!.GetValue<string>());
        }

        using (var first = await SendAsync(HttpMethod.Post, "/admin/keys", """{"id":"taken"}"""))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        using var taken = await SendAsync(HttpMethod.Post, "/admin/keys", """{"id":"taken"}""");
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Equal("conflict", (await BudgetFixture.ReadJsonAsync(taken))["error"]!["code"]!.GetValue<string>());
    }

    /// <summary>
    /// Hostile bodies for every resource (fields of the resource and unknown ones, values of every JSON type, out of
    /// range, lone surrogates): each answer is a success or a 4xx naming a field with a message, never a 500 or empty;
    /// and a refused PUT leaves the resource list as it was.
    /// </summary>
    [Fact]
    public async Task Hostile_bodies_for_every_resource_are_a_success_or_a_4xx_naming_the_field()
    {
        (string Method, string Path, string List, string[] Fields)[] resources =
        [
            ("POST", "/admin/keys", "/admin/keys", ["id", "team", "models", "expires_at", "trust_end_user", "trust_tags"]),
            ("PUT", "/admin/budgets/prop", "/admin/budgets", ["scope", "cap_usd", "cap_tokens", "window", "alert_thresholds", "degrade", "mode"]),
            ("PUT", "/admin/bedtime/team:tight-team", "/admin/bedtime", ["enabled", "timezone", "hours", "baseline_days", "multiplier", "floor_usd"]),
            ("PUT", "/admin/rate-limits/prop", "/admin/rate-limits", ["scope", "requests_per_minute", "tokens_per_minute", "max_concurrent"]),
            ("PUT", "/admin/routes/prop", "/admin/routes", ["targets", "cooldown_seconds"]),
            ("PUT", "/admin/ensembles/prop", "/admin/ensembles", ["panel", "judge", "min_responses", "max_cost_usd", "timeout_ms"]),
        ];
        var values = Gen.OneOf(
            Gen.Const("\"org:acme\""), Gen.Const("\"team:tight-team\""), Gen.Const("\"sim-chat\""), Gen.Const("\"\\udc00\""), Gen.Const("null"),
            Gen.Const("true"), Gen.Const("\"1.5\""), Gen.Const("79300000000000000000"), Gen.Const("\"7.93e19\""), Gen.Const("-1"), Gen.Const("\"NaN\""),
            Gen.Const("1e400"), Gen.Const("[]"), Gen.Const("[\"sim-chat\"]"), Gen.Const("{}"), Gen.Const("{\"model\":\"sim-chat\"}"),
            Gen.Const("\"2099-01-01T00:00:00Z\""), Gen.Long[-3, 100].Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var cases = Gen.Int[0, resources.Length - 1].SelectMany(r =>
            Gen.Select(Gen.OneOf(resources[r].Fields.Select(Gen.Const).Append(Gen.Const("x")).ToArray()), values).Array[0, 5]
                .Select(pairs => (Resource: r, Body: "{" + string.Join(",", pairs.DistinctBy(p => p.Item1).Select(p => "\"" + p.Item1 + "\":" + p.Item2)) + "}")));
        await cases.SampleAsync(async c =>
        {
            var (method, path, list, _) = resources[c.Resource];
            var before = await ListAsync(list);
            using var response = await SendAsync(new HttpMethod(method), path, c.Body);
            var text = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            var error = JsonNode.Parse(text)!["error"]!;
            var named = (int)response.StatusCode is 400 or 409 && error["param"] is not null && error["message"]!.GetValue<string>().Length > 0;
            return named && (response.StatusCode != HttpStatusCode.BadRequest || before == await ListAsync(list));
        }, iter: 120, threads: 1);
    }

    private async Task<string> KeyAsync(string id)
    {
        using var list = await SendAsync(HttpMethod.Get, "/admin/keys", null);
        var keys = (await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray();
        return keys.Single(k => k!["id"]!.GetValue<string>() == id)!.ToJsonString();
    }

    private async Task<string> ListAsync(string path)
    {
        using var list = await SendAsync(HttpMethod.Get, path, null);
        var data = (await BudgetFixture.ReadJsonAsync(list))["data"]!.AsArray();

        // Live counters (spend, in-flight, sleeping) move on their own; what a PUT changes is the definitions.
        foreach (var item in data)
        {
            if (item is JsonObject o)
            {
                o.Remove("current");
                o.Remove("in_flight");
            }
        }

        return data.ToJsonString();
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? body)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BudgetFixture.AdminSecret);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return _fixture.Http.SendAsync(request);
    }
}
