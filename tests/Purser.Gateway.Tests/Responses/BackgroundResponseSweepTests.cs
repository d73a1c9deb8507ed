using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Responses;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;

namespace Purser.Gateway.Tests.Responses;

/// <summary>
/// Invariant 3 for <c>background: true</c> responses, on a fake clock with the simulator's background responses: every
/// one ends with exactly one usage record carrying its cost, whether or not the caller retrieves it. The sweep
/// retrieves a pending response from its provider and settles it from its usage (once, even when the caller also
/// retrieves it); one still unfinished as its hold nears expiry is charged its hold in full with a record marked
/// <c>background_expired</c>. After each, ledger spent = Σ usage records and nothing is left held.
/// </summary>
public sealed class BackgroundResponseSweepTests : IAsyncLifetime
{
    private const string Models = """
          bg-ok: { provider: sim-openai, upstream: "sim-chat~out=20", price: { input: 0.5, output: 1.5 } }
          bg-never: { provider: sim-openai, upstream: "sim-chat~out=20,queued=100000", price: { input: 0.5, output: 1.5 } }
          bg-later: { provider: sim-openai, upstream: "sim-chat~out=20,queued=2", price: { input: 0.5, output: 1.5 } }
        """;

    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero), extraModels: Models);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private async Task<string> KeyAsync(string id)
    {
        var secret = await _fixture.CreateKeyAsync(id);
        await _fixture.PutBudgetAsync(id + "-daily", new JsonObject
        {
            ["scope"] = "key:" + id,
            ["window"] = "daily",
            ["timezone"] = "UTC",
            ["mode"] = "reserve",
            ["cap_usd"] = "5",
        });
        return secret;
    }

    private async Task<string> CreateBackgroundAsync(string secret, string model)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
        {
            Content = new StringContent($$"""{"model":"{{model}}","max_output_tokens":300,"background":true,"input":"work on this quietly"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _fixture.Http.SendAsync(request);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("queued", json["status"]!.GetValue<string>());
        return json["id"]!.GetValue<string>();
    }

    private async Task<JsonObject> RetrieveAsync(string secret, string id)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/responses/" + id);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await BudgetFixture.ReadJsonAsync(response);
    }

    /// <summary>Moves the clock on in the sweep's steps until <paramref name="done"/> holds of the key's records (bounded).</summary>
    private async Task<IReadOnlyList<UsageRecord>> AdvanceUntilAsync(string keyId, TimeSpan by, Func<IReadOnlyList<UsageRecord>, bool> done)
    {
        var until = _fixture.Time.GetUtcNow() + by;
        while (true)
        {
            var records = await _fixture.UsageOfKeyAsync(keyId);
            if (done(records))
            {
                return records;
            }

            Assert.True(_fixture.Time.GetUtcNow() < until, "the sweep did not settle the response in time");
            _fixture.Time.Advance(TimeSpan.FromSeconds(5));
            await Poll.NextAsync(20);
        }
    }

    private async Task AssertBooksBalanceAsync(string keyId)
    {
        var records = await _fixture.UsageOfKeyAsync(keyId);
        var (spent, held, _) = await _fixture.BudgetStateAsync(keyId + "-daily");
        Assert.Equal(0, held);
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
    }

    [Fact]
    public async Task A_response_never_retrieved_is_settled_from_its_usage_by_the_sweep_and_a_later_retrieval_is_free()
    {
        var secret = await KeyAsync("bg-a");
        var id = await CreateBackgroundAsync(secret, "bg-ok");
        var pending = Assert.Single(await _fixture.UsageOfKeyAsync("bg-a"));
        Assert.Equal("background_pending", pending.ErrorCode);
        Assert.True((await _fixture.BudgetStateAsync("bg-a-daily")).Held > 0);

        var records = await AdvanceUntilAsync("bg-a", TimeSpan.FromMinutes(10), r => r.Count == 2);
        var settled = Assert.Single(records, r => r.ErrorCode == "background_settled");
        Assert.Equal(UsageSource.Reported, settled.Source);
        Assert.Equal(20, settled.Tokens.OutputTokens);
        Assert.Equal((settled.Tokens.InputTokens * 500) + (20 * 1500), settled.Cost.NanoUsd);
        await AssertBooksBalanceAsync("bg-a");

        // The caller comes back later: the finished response, and nothing charged twice.
        var retrieved = await RetrieveAsync(secret, id);
        Assert.Equal("completed", retrieved["status"]!.GetValue<string>());
        records = await _fixture.UsageOfKeyAsync("bg-a");
        Assert.Equal(3, records.Count);
        Assert.Equal(settled.Cost.NanoUsd, records.Sum(r => r.Cost.NanoUsd));
        await AssertBooksBalanceAsync("bg-a");
    }

    [Fact]
    public async Task A_response_the_caller_retrieved_is_not_settled_again_by_the_sweep()
    {
        var secret = await KeyAsync("bg-b");
        var mine = await CreateBackgroundAsync(secret, "bg-ok");
        var other = await CreateBackgroundAsync(secret, "bg-later");
        Assert.Equal("completed", (await RetrieveAsync(secret, mine))["status"]!.GetValue<string>());

        // The other response finishes only on its third retrieval: the sweep's record of it says the sweep has run.
        var records = await AdvanceUntilAsync("bg-b", TimeSpan.FromMinutes(10), r => r.Any(x => x.ErrorCode == "background_settled"));
        Assert.Equal(4, records.Count);
        Assert.Equal(2, records.Count(r => r.Cost.NanoUsd > 0));
        Assert.Single(records, r => r.ErrorCode == "background_settled");
        await AssertBooksBalanceAsync("bg-b");
        Assert.Equal("completed", (await RetrieveAsync(secret, other))["status"]!.GetValue<string>());
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), (await _fixture.UsageOfKeyAsync("bg-b")).Sum(r => r.Cost.NanoUsd));
    }

    [Fact]
    public async Task A_response_still_unfinished_as_its_hold_nears_expiry_is_charged_the_hold_with_one_marked_record()
    {
        var secret = await KeyAsync("bg-c");
        await CreateBackgroundAsync(secret, "bg-never");
        var held = (await _fixture.BudgetStateAsync("bg-c-daily")).Held;
        Assert.True(held > 0);

        // Polled while it runs (still queued: nothing recorded), then charged in full before the ledger would expire it.
        var records = await AdvanceUntilAsync("bg-c", ResponsesProxy.BackgroundHoldTtl, r => r.Count == 2);
        var expired = Assert.Single(records, r => r.ErrorCode == "background_expired");
        Assert.Equal(UsageSource.Held, expired.Source);
        Assert.Equal(held, expired.Cost.NanoUsd);
        Assert.True(_fixture.Time.GetUtcNow() < new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero) + ResponsesProxy.BackgroundHoldTtl);
        await AssertBooksBalanceAsync("bg-c");

        // Past the hold's own expiry: nothing more is charged, and no second record.
        _fixture.Time.Advance(TimeSpan.FromMinutes(10));
        await Poll.NextAsync(50);
        Assert.Equal(2, (await _fixture.UsageOfKeyAsync("bg-c")).Count);
        await AssertBooksBalanceAsync("bg-c");
    }

    [Fact]
    public async Task A_response_deleted_before_it_was_seen_finished_is_charged_its_hold_on_the_delete()
    {
        var secret = await KeyAsync("bg-d");
        var id = await CreateBackgroundAsync(secret, "bg-never");
        var held = (await _fixture.BudgetStateAsync("bg-d-daily")).Held;
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/responses/" + id);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using (var deleted = await _fixture.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        var records = await _fixture.UsageOfKeyAsync("bg-d");
        Assert.Equal(2, records.Count);
        var charged = Assert.Single(records, r => r.Cost.NanoUsd > 0);
        Assert.Equal(UsageSource.Held, charged.Source);
        Assert.Equal(held, charged.Cost.NanoUsd);
        await AssertBooksBalanceAsync("bg-d");

        // The sweep finds nothing left to settle.
        for (var i = 0; i < 36; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(5));
            await Poll.NextAsync(10);
        }

        Assert.Equal(2, (await _fixture.UsageOfKeyAsync("bg-d")).Count);
        await AssertBooksBalanceAsync("bg-d");
    }
}
