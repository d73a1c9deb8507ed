using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>Caps hold exactly under concurrency, on every scope of the path, and refusals say which cap and why.</summary>
[Collection(BudgetCollection.Name)]
public sealed class BudgetEnforcementTests
{
    private readonly BudgetFixture _fixture;

    public BudgetEnforcementTests(BudgetFixture fixture) => _fixture = fixture;

    private static JsonObject Budget(string scope, long capNano, string window = "daily", string mode = "reserve", JsonObject? degrade = null, long? capTokens = null, string timezone = "UTC")
    {
        var budget = new JsonObject
        {
            ["scope"] = scope,
            ["window"] = window,
            ["timezone"] = timezone,
            ["mode"] = mode,
            ["cap_usd"] = BudgetFixture.Usd(capNano),
        };
        if (capTokens is { } tokens)
        {
            budget["cap_tokens"] = tokens;
        }

        if (degrade is not null)
        {
            budget["degrade"] = degrade;
        }

        return budget;
    }

    private async Task AssertQuiescentAsync(string budgetId, long capNano, IEnumerable<string> keyIds)
    {
        var (spent, held, _) = await _fixture.BudgetStateAsync(budgetId);
        long recorded = 0;
        foreach (var key in keyIds)
        {
            foreach (var record in await _fixture.UsageOfKeyAsync(key))
            {
                recorded += record.Cost.NanoUsd;
            }
        }

        Assert.Equal(0, held);
        Assert.True(spent <= capNano, $"spent {spent} exceeds cap {capNano}");
        Assert.Equal(recorded, spent);
    }

    [Fact]
    public async Task Two_hundred_concurrent_requests_never_take_a_key_past_a_cap_that_fits_fifty_worst_cases()
    {
        var secret = await _fixture.CreateKeyAsync("exact-fifty");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        var cap = 50 * worst;
        await _fixture.PutBudgetAsync("exact-fifty-daily", Budget("key:exact-fifty", cap));

        var (ok, refused) = await ConcurrentCalls.FireAsync(_fixture.Http, 200, _ => _fixture.Chat(secret, body));

        // Each call costs less than its worst case, so at least the fifty that fit outright were served.
        Assert.True(ok >= 50, $"only {ok} served");
        Assert.Equal(200, ok + refused);
        await AssertQuiescentAsync("exact-fifty-daily", cap, ["exact-fifty"]);

        // No hold leaked: what is left is exactly what a new request can use.
        var (spent, _, _) = await _fixture.BudgetStateAsync("exact-fifty-daily");
        using var next = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
        Assert.Equal(cap - spent >= worst ? HttpStatusCode.OK : HttpStatusCode.PaymentRequired, next.StatusCode);
    }

    [Fact]
    public async Task A_team_cap_tighter_than_its_keys_caps_holds_across_the_teams_keys()
    {
        var a = await _fixture.CreateKeyAsync("tight-a", team: "tight-team");
        var b = await _fixture.CreateKeyAsync("tight-b", team: "tight-team");
        var body = BudgetFixture.ChatBody(200);
        var worst = BudgetFixture.WorstCaseNano(body, 200);
        await _fixture.PutBudgetAsync("tight-a-daily", Budget("key:tight-a", 40 * worst));
        await _fixture.PutBudgetAsync("tight-b-daily", Budget("key:tight-b", 40 * worst));
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 10 * worst));

        var (ok, _) = await ConcurrentCalls.FireAsync(_fixture.Http, 80, i => _fixture.Chat(i % 2 == 0 ? a : b, body));

        Assert.True(ok >= 10);
        await AssertQuiescentAsync("tight-team-daily", 10 * worst, ["tight-a", "tight-b"]);
        var (aSpent, aHeld, _) = await _fixture.BudgetStateAsync("tight-a-daily");
        var (bSpent, bHeld, _) = await _fixture.BudgetStateAsync("tight-b-daily");
        var (teamSpent, _, _) = await _fixture.BudgetStateAsync("tight-team-daily");
        Assert.Equal(teamSpent, aSpent + bSpent);
        Assert.Equal(0, aHeld + bHeld);
    }

    [Fact]
    public async Task A_task_scope_shared_by_several_keys_of_one_team_draws_on_one_ceiling()
    {
        var keys = new[] { await _fixture.CreateKeyAsync("swarm-1", "wide-team"), await _fixture.CreateKeyAsync("swarm-2", "wide-team"), await _fixture.CreateKeyAsync("swarm-3", "wide-team") };
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        var ceiling = 15 * worst;

        var (ok, refused) = await ConcurrentCalls.FireAsync(_fixture.Http, 90, i => _fixture.Chat(keys[i % 3], body, ("x-budget-scope", "swarm-run-1"), ("x-budget-ceiling", BudgetFixture.Usd(ceiling))));

        Assert.True(ok >= 15, $"only {ok} served");
        Assert.True(refused > 0);
        await AssertQuiescentAsync("task:team:wide-team:swarm-run-1", ceiling, ["swarm-1", "swarm-2", "swarm-3"]);

        // Later calls name the task without a ceiling and still draw on it; the refusal names the task ceiling.
        using var late = await _fixture.Http.SendAsync(_fixture.Chat(keys[0], BudgetFixture.ChatBody(4000), ("x-budget-scope", "swarm-run-1")));
        Assert.Equal(HttpStatusCode.PaymentRequired, late.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(late))["error"]!;
        Assert.Equal("task_ceiling_exceeded", error["code"]!.GetValue<string>());
        Assert.Equal("task:swarm-run-1", error["scope"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_task_ceiling_above_the_keys_remaining_budget_never_lets_the_key_exceed_its_cap()
    {
        var secret = await _fixture.CreateKeyAsync("generous-task");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        await _fixture.PutBudgetAsync("generous-task-daily", Budget("key:generous-task", 3 * worst));

        var (ok, _) = await ConcurrentCalls.FireAsync(_fixture.Http, 40, _ => _fixture.Chat(secret, body, ("x-budget-scope", "big-task"), ("x-budget-ceiling", BudgetFixture.Usd(100 * worst))));

        Assert.True(ok >= 3);
        await AssertQuiescentAsync("generous-task-daily", 3 * worst, ["generous-task"]);
        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(4000), ("x-budget-scope", "big-task")));
        Assert.Equal("daily_cap_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_hoc_admits_while_under_the_cap_and_records_every_cost()
    {
        var secret = await _fixture.CreateKeyAsync("post-hoc");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        await _fixture.PutBudgetAsync("post-hoc-daily", Budget("key:post-hoc", 3 * worst, mode: "post_hoc"));

        var served = 0;
        for (var i = 0; i < 200; i++)
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                break;
            }

            served++;
        }

        // Sequential calls overshoot by at most the one call that crossed the cap.
        var (spent, held, _) = await _fixture.BudgetStateAsync("post-hoc-daily");
        Assert.True(served > 3, "post-hoc admits on spent, not on worst cases");
        Assert.Equal(0, held);
        Assert.True(spent >= 3 * worst && spent < (3 * worst) + worst, $"spent {spent}, cap {3 * worst}");
    }

    [Fact]
    public async Task Budget_headers_report_the_tightest_window_on_every_response()
    {
        var secret = await _fixture.CreateKeyAsync("headers");
        var body = BudgetFixture.ChatBody(50);
        await _fixture.PutBudgetAsync("headers-daily", Budget("key:headers", 1_000_000_000));
        await _fixture.PutBudgetAsync("headers-monthly", Budget("key:headers", 500_000_000, window: "monthly"));

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cost = BudgetFixture.Nano(response.Headers.GetValues("x-request-cost").Single());
        Assert.True(cost > 0);
        Assert.Equal(BudgetFixture.Usd(500_000_000 - cost), response.Headers.GetValues("x-budget-remaining").Single());
        Assert.Equal("0.5", response.Headers.GetValues("x-budget-limit").Single());
        Assert.Equal("key:headers", response.Headers.GetValues("x-budget-scope").Single());
        Assert.Equal("2026-12-01T00:00:00Z", response.Headers.GetValues("x-budget-reset").Single());

        using var budget = new HttpRequestMessage(HttpMethod.Get, "/v1/budget");
        budget.Headers.Authorization = new("Bearer", secret);
        using var status = await _fixture.Http.SendAsync(budget);
        var json = await BudgetFixture.ReadJsonAsync(status);
        Assert.Equal(2, json["data"]!.AsArray().Count);
        Assert.Equal(BudgetFixture.Usd(500_000_000 - cost), json["tightest"]!["remaining"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_anthropic_format_caller_gets_the_refusal_in_anthropics_error_shape()
    {
        var secret = await _fixture.CreateKeyAsync("anthropic-caller");
        await _fixture.PutBudgetAsync("anthropic-caller-daily", Budget("key:anthropic-caller", 1_000));
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sim","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await _fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal("error", json["type"]!.GetValue<string>());
        Assert.Equal("budget_exceeded", json["error"]!["type"]!.GetValue<string>());
        Assert.Equal("daily_cap_exceeded", json["error"]!["code"]!.GetValue<string>());
        Assert.Equal("key:anthropic-caller", json["error"]!["scope"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("x-budget-hint", "abc")]
    [InlineData("x-budget-hint", "-1")]
    [InlineData("x-budget-ceiling", "-5")]
    [InlineData("x-budget-ceiling", "99999999999")]
    [InlineData("x-budget-scope", "bad scope!")]
    public async Task Invalid_budget_headers_are_a_400_naming_the_header_and_change_nothing(string header, string value)
    {
        var secret = await _fixture.CreateKeyAsync("bad-headers-" + Math.Abs(HashCode.Combine(header, value)));
        var headers = header == "x-budget-ceiling" ? new[] { ("x-budget-scope", "some-task"), (header, value) } : new[] { (header, value) };
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10), headers));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(response))["error"]!;
        Assert.Equal(header, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_task_scope_without_a_ceiling_is_a_400()
    {
        var secret = await _fixture.CreateKeyAsync("unknown-scope");
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(10), ("x-budget-scope", "never-created")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unknown_scope", (await BudgetFixture.ReadJsonAsync(response))["error"]!["code"]!.GetValue<string>());
    }

    // --- Through the official OpenAI SDK: every 402 code, every degrade path, and no retry of a 402. ---

    private ChatClient Sdk(string model, string secret, params (string Name, string Value)[] headers)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(_fixture.Gateway.BaseAddress, "v1/") };
        options.AddPolicy(new HeadersPolicy(headers), PipelinePosition.PerCall);
        return new ChatClient(model, new ApiKeyCredential(secret), options);
    }

    public static TheoryData<string, string> RefusalCases() => new()
    {
        { "daily", "daily_cap_exceeded" },
        { "monthly", "monthly_cap_exceeded" },
        { "lifetime", "lifetime_cap_exceeded" },
        { "tokens", "token_cap_exceeded" },
        { "task", "task_ceiling_exceeded" },
        { "hint", "insufficient_budget_for_hint" },
    };

    [Theory]
    [MemberData(nameof(RefusalCases))]
    public async Task Each_refusal_is_a_402_with_its_code_that_the_sdk_does_not_retry(string kind, string code)
    {
        var keyId = "refuse-" + kind;
        var secret = await _fixture.CreateKeyAsync(keyId);
        var headers = Array.Empty<(string, string)>();
        switch (kind)
        {
            case "daily" or "monthly" or "lifetime":
                await _fixture.PutBudgetAsync(keyId + "-budget", Budget("key:" + keyId, 1_000, window: kind));
                break;
            case "tokens":
                await _fixture.PutBudgetAsync(keyId + "-budget", Budget("key:" + keyId, 1_000_000_000, capTokens: 10));
                break;
            case "task":
                headers = [("x-budget-scope", "tiny-task"), ("x-budget-ceiling", "0.000001")];
                break;
            case "hint":
                await _fixture.PutBudgetAsync(keyId + "-budget", Budget("key:" + keyId, 1_000_000));
                headers = [("x-budget-hint", "5")];
                break;
        }

        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk("sim-chat", secret, headers).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(402, ex.Status);
        var error = JsonNode.Parse(ex.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal("budget_exceeded", error["type"]!.GetValue<string>());
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.NotNull(error["remedy"]);
        Assert.NotNull(error["scope"]);
        Assert.Single(await _fixture.UsageOfKeyAsync(keyId));
    }

    [Fact]
    public async Task A_request_too_big_for_the_budget_is_degraded_to_a_lower_max_tokens()
    {
        var secret = await _fixture.CreateKeyAsync("degrade-tokens");
        var big = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(2000), 2000);
        await _fixture.PutBudgetAsync("degrade-tokens-daily", Budget("key:degrade-tokens", big / 2, degrade: new JsonObject { ["min_max_tokens"] = 16 }));

        var result = await Sdk("sim-chat", secret).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 2000 });

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-budget-degraded", out var how));
        Assert.StartsWith("max_tokens=", how, StringComparison.Ordinal);
        var lowered = int.Parse(how!["max_tokens=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(lowered, 16, 1999);
        var record = Assert.Single(await _fixture.UsageOfKeyAsync("degrade-tokens"));
        Assert.Equal(how, record.Degraded);
    }

    [Fact]
    public async Task A_request_too_big_for_the_budget_is_served_by_the_cheaper_fallback_model()
    {
        var secret = await _fixture.CreateKeyAsync("degrade-model");
        var body = BudgetFixture.ChatBody(1000);
        var chatWorst = BudgetFixture.WorstCaseNano(body, 1000);
        await _fixture.PutBudgetAsync("degrade-model-daily", Budget("key:degrade-model", chatWorst / 4, degrade: new JsonObject { ["fallback_model"] = "sim-mini" }));

        var result = await Sdk("sim-chat", secret).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 1000 });

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-budget-degraded", out var how));
        Assert.Equal("model=sim-mini", how);
        var record = Assert.Single(await _fixture.UsageOfKeyAsync("degrade-model"));
        Assert.Equal("model=sim-mini", record.Degraded);

        // Priced at the fallback's rates: a tenth of sim-chat's.
        Assert.Equal((record.Tokens.InputTokens * 50) + (record.Tokens.OutputTokens * 150), record.Cost.NanoUsd);
    }

    [Fact]
    public async Task Without_a_degrade_option_the_same_request_is_refused()
    {
        var secret = await _fixture.CreateKeyAsync("no-degrade");
        var body = BudgetFixture.ChatBody(1000);
        await _fixture.PutBudgetAsync("no-degrade-daily", Budget("key:no-degrade", BudgetFixture.WorstCaseNano(body, 1000) / 4));
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Sdk("sim-chat", secret).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 1000 }));
        Assert.Equal(402, ex.Status);
    }

    private sealed class HeadersPolicy((string Name, string Value)[] headers) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Add(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Add(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Add(PipelineMessage message)
        {
            foreach (var (name, value) in headers)
            {
                message.Request.Headers.Set(name, value);
            }
        }
    }
}
