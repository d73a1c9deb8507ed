using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Keys;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Budgets narrowed and widened (issue 15): a budget named to one model alias applies to requests for that alias
/// only; a <c>tag:</c> budget is charged by requests carrying the tag (from a key that trusts tags); a <c>global</c>
/// budget is charged by every request of every key. Each is set through the admin API, the file's validation path.
/// </summary>
public sealed class BudgetScopeTests : IAsyncLifetime
{
    private const string TaggerSecret = "sk-purser-tagger";

    private static readonly long Worst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100), 100);

    private readonly BudgetFixture _fixture = new(
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        extraYaml: $$"""
            keys:
              - { id: tagger, hash: "{{KeyHasher.Hash(TaggerSecret)}}", trust_tags: true }
            """);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task<HttpStatusCode> AskAsync(string secret, string model = "sim-chat", params (string, string)[] headers)
    {
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(100, model), headers));
        return response.StatusCode;
    }

    [Fact]
    public async Task A_model_narrowed_budget_refuses_its_model_and_leaves_the_others_alone()
    {
        var secret = await _fixture.CreateKeyAsync("narrow");
        var miniWorst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100, "sim-mini"), 100) / 10;
        await _fixture.PutBudgetAsync("narrow-mini", new JsonObject
        {
            ["scope"] = "key:narrow",
            ["model"] = "sim-mini",
            ["cap_usd"] = BudgetFixture.Usd(miniWorst / 2),
        });

        Assert.Equal(HttpStatusCode.PaymentRequired, await AskAsync(secret, "sim-mini"));
        Assert.Equal(HttpStatusCode.OK, await AskAsync(secret, "sim-chat"));
        var (spent, held, budget) = await _fixture.BudgetStateAsync("narrow-mini");
        Assert.Equal((0, 0), (spent, held));
        Assert.Equal("sim-mini", budget["model"]!.GetValue<string>());

        // An unknown alias is refused the way the file refuses it.
        using var bad = await _fixture.SendAdminAsync(HttpMethod.Put, "/admin/budgets/bad-model", new JsonObject { ["scope"] = "key:narrow", ["model"] = "nope", ["cap_usd"] = "1" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_tag_budget_is_charged_only_by_requests_carrying_its_tag()
    {
        await _fixture.PutBudgetAsync("batch-tag", new JsonObject { ["scope"] = "tag:batch", ["cap_usd"] = BudgetFixture.Usd(3 * Worst) });

        Assert.Equal(HttpStatusCode.OK, await AskAsync(TaggerSecret, "sim-chat", ("x-budget-tags", "interactive")));
        Assert.Equal((0L, 0L), Trim(await _fixture.BudgetStateAsync("batch-tag")));

        var served = 0;
        while (await AskAsync(TaggerSecret, "sim-chat", ("x-budget-tags", "nightly, batch,batch")) == HttpStatusCode.OK)
        {
            served++;
            Assert.True(served < 50, "the tag budget never ran out");
        }

        Assert.True(served >= 3);

        // Untagged requests of the same key are not limited by it.
        Assert.Equal(HttpStatusCode.OK, await AskAsync(TaggerSecret));

        var records = await _fixture.UsageOfKeyAsync("tagger");
        var tagged = records.Where(r => r.Tags is { } t && t.Split(',').Contains("batch")).ToList();
        Assert.Equal(served + 1, tagged.Count);
        Assert.All(tagged, r => Assert.Equal("nightly,batch", r.Tags));
        Assert.Equal(tagged.Sum(r => r.Cost.NanoUsd), (await _fixture.BudgetStateAsync("batch-tag")).Spent);

        using var usage = await _fixture.SendAdminAsync(HttpMethod.Get, "/admin/usage?tag=batch");
        Assert.Equal(served + 1, (await BudgetFixture.ReadJsonAsync(usage))["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_key_created_through_the_admin_api_can_be_trusted_with_tags_and_the_body_user()
    {
        using var created = await _fixture.SendAdminAsync(HttpMethod.Post, "/admin/keys", new JsonObject { ["id"] = "api-trusted", ["trust_tags"] = true });
        var json = await BudgetFixture.ReadJsonAsync(created);
        Assert.True(created.IsSuccessStatusCode, json.ToJsonString());
        Assert.True(json["trust_tags"]!.GetValue<bool>());
        var secret = json["secret"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, await AskAsync(secret, "sim-chat", ("x-budget-tags", "batch")));

        // Trust is changed with PATCH, and a non-boolean is refused naming the field.
        using (var bad = await _fixture.SendAdminAsync(HttpMethod.Patch, "/admin/keys/api-trusted", new JsonObject { ["trust_tags"] = "yes" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("trust_tags", (await BudgetFixture.ReadJsonAsync(bad))["error"]!["param"]!.GetValue<string>());
        }

        using (var patched = await _fixture.SendAdminAsync(HttpMethod.Patch, "/admin/keys/api-trusted", new JsonObject { ["trust_tags"] = false, ["trust_end_user"] = true }))
        {
            Assert.True(patched.IsSuccessStatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, await AskAsync(secret, "sim-chat", ("x-budget-tags", "batch")));
        Assert.Equal(["batch"], (await _fixture.UsageOfKeyAsync("api-trusted")).Where(r => r.Status == 200).Select(r => r.Tags));
    }

    [Fact]
    public async Task A_global_budget_is_charged_by_every_key()
    {
        var first = await _fixture.CreateKeyAsync("global-a");
        var second = await _fixture.CreateKeyAsync("global-b", "wide-team");
        await _fixture.PutBudgetAsync("whole-gateway", new JsonObject { ["scope"] = "global", ["window"] = "hourly", ["cap_usd"] = BudgetFixture.Usd(4 * Worst) });

        var served = 0;
        for (var i = 0; i < 50; i++)
        {
            var secret = i % 2 == 0 ? first : second;
            if (await AskAsync(secret) != HttpStatusCode.OK)
            {
                break;
            }

            served++;
        }

        Assert.InRange(served, 4, 49);
        Assert.Equal(HttpStatusCode.PaymentRequired, await AskAsync(TaggerSecret));
        var records = (await _fixture.UsageOfKeyAsync("global-a")).Concat(await _fixture.UsageOfKeyAsync("global-b")).Concat(await _fixture.UsageOfKeyAsync("tagger"));
        var (spent, held, _) = await _fixture.BudgetStateAsync("whole-gateway");
        Assert.Equal(0, held);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
        Assert.True(spent <= 4 * Worst);
    }

    private static (long, long) Trim((long Spent, long Held, JsonObject _) state) => (state.Spent, state.Held);
}
