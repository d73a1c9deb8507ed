using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Bedtime;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Task scopes belong to a tenant (the calling key's team, or the key itself without one): two tenants' ids never
/// meet; a refused call creates nothing; a differing ceiling is a 409 in either error shape; a key's open tasks are
/// capped.
/// </summary>
[Collection(BudgetCollection.Name)]
public sealed class TaskScopeTests
{
    private readonly BudgetFixture _fixture;

    public TaskScopeTests(BudgetFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Two_tenants_naming_the_same_task_get_two_tasks_with_their_own_ceilings()
    {
        var tight = await _fixture.CreateKeyAsync("tenant-a", "tight-team");
        var wide = await _fixture.CreateKeyAsync("tenant-b", "wide-team");
        var loner = await _fixture.CreateKeyAsync("tenant-c");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);

        // Tenant A opens swarm-x with a ceiling of one worst case; B and C name the same id with larger ceilings.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(tight, body, "swarm-x", worst));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(wide, body, "swarm-x", 10 * worst));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(loner, body, "swarm-x", 20 * worst));

        var (_, _, a) = await _fixture.BudgetStateAsync("task:team:tight-team:swarm-x");
        var (_, _, b) = await _fixture.BudgetStateAsync("task:team:wide-team:swarm-x");
        var (_, _, c) = await _fixture.BudgetStateAsync("task:key:tenant-c:swarm-x");
        Assert.Equal(worst, BudgetFixture.Nano(a["cap_usd"]!.GetValue<string>()));
        Assert.Equal(10 * worst, BudgetFixture.Nano(b["cap_usd"]!.GetValue<string>()));
        Assert.Equal(20 * worst, BudgetFixture.Nano(c["cap_usd"]!.GetValue<string>()));

        // A's task is spent up to its ceiling; B's is not touched by that.
        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(tight, body, ("x-budget-scope", "swarm-x")));
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(wide, body, "swarm-x", null));
    }

    [Fact]
    public async Task A_call_refused_with_402_creates_no_task()
    {
        var secret = await _fixture.CreateKeyAsync("refused-first");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);

        // A ceiling below the call's worst case: 402, and the task does not exist afterwards.
        using (var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "squatted"), ("x-budget-ceiling", BudgetFixture.Usd(worst / 2)))))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => _fixture.BudgetStateAsync("task:key:refused-first:squatted"));
        using (var unknown = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "squatted"))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            Assert.Equal("unknown_scope", (await BudgetFixture.ReadJsonAsync(unknown))["error"]!["code"]!.GetValue<string>());
        }

        // So the later, real first call sets the ceiling it asks for.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "squatted", 5 * worst));
        var (_, _, budget) = await _fixture.BudgetStateAsync("task:key:refused-first:squatted");
        Assert.Equal(5 * worst, BudgetFixture.Nano(budget["cap_usd"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_call_refused_with_a_400_creates_no_task()
    {
        var secret = await _fixture.CreateKeyAsync("bad-first");
        using (var bad = await _fixture.Http.SendAsync(_fixture.Chat(secret, """{"model":"sim-chat","messages":"nope"}""", ("x-budget-scope", "bad-task"), ("x-budget-ceiling", "1.00"))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => _fixture.BudgetStateAsync("task:key:bad-first:bad-task"));
    }

    [Fact]
    public async Task A_ceiling_that_differs_from_the_tasks_is_a_409_in_both_error_shapes_and_holds_nothing()
    {
        var secret = await _fixture.CreateKeyAsync("conflicting");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "fixed", 4 * worst));
        var (spentBefore, _, _) = await _fixture.BudgetStateAsync("task:key:conflicting:fixed");

        using (var openAi = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "fixed"), ("x-budget-ceiling", BudgetFixture.Usd(1_000 * worst)))))
        {
            Assert.Equal(HttpStatusCode.Conflict, openAi.StatusCode);
            var error = (await BudgetFixture.ReadJsonAsync(openAi))["error"]!;
            Assert.Equal("task_ceiling_conflict", error["code"]!.GetValue<string>());
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
            Assert.Equal("x-budget-ceiling", error["param"]!.GetValue<string>());
        }

        var message = """{"model":"claude-sim","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";
        using var anthropicRequest = Requests.Messages(message, secret);
        anthropicRequest.Headers.Add("x-budget-scope", "fixed");
        anthropicRequest.Headers.Add("x-budget-ceiling", BudgetFixture.Usd(2 * worst));
        using (var anthropic = await _fixture.Http.SendAsync(anthropicRequest))
        {
            Assert.Equal(HttpStatusCode.Conflict, anthropic.StatusCode);
            var json = await BudgetFixture.ReadJsonAsync(anthropic);
            Assert.Equal("error", json["type"]!.GetValue<string>());
            Assert.Equal("invalid_request_error", json["error"]!["type"]!.GetValue<string>());
            Assert.Equal("task_ceiling_conflict", json["error"]!["code"]!.GetValue<string>());
        }

        // The same ceiling, or none, still draws on the task; the conflicts held and charged nothing.
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "fixed", 4 * worst));
        var (spent, held, budget) = await _fixture.BudgetStateAsync("task:key:conflicting:fixed");
        Assert.Equal(4 * worst, BudgetFixture.Nano(budget["cap_usd"]!.GetValue<string>()));
        Assert.Equal(0, held);
        var records = await _fixture.UsageOfKeyAsync("conflicting");
        Assert.Equal(records.Sum(r => r.Cost.NanoUsd), spent);
        Assert.True(spent > spentBefore);
    }

    [Fact]
    public async Task A_key_past_its_open_task_limit_is_refused_until_one_of_its_tasks_is_deleted()
    {
        var secret = await _fixture.CreateKeyAsync("many-tasks");
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        for (var i = 0; i < BudgetFixture.MaxOpenTasksPerKey; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "run-" + i, 10 * worst));
        }

        using (var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "one-more"), ("x-budget-ceiling", BudgetFixture.Usd(10 * worst)))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("open_task_limit_reached", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
        }

        // Nothing was created or left held; existing tasks keep working.
        await Assert.ThrowsAsync<InvalidOperationException>(() => _fixture.BudgetStateAsync("task:key:many-tasks:one-more"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "run-0", null));

        // Deleting a finished task closes it: the key may open another.
        var (deleted, _) = await _fixture.AdminAsync(HttpMethod.Delete, "/admin/budgets/task:key:many-tasks:run-1");
        using (deleted)
        {
            Assert.True(deleted.IsSuccessStatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(secret, body, "one-more", 10 * worst));
    }

    private async Task<HttpStatusCode> StatusAsync(string secret, string body, string task, long? ceilingNano)
    {
        var headers = ceilingNano is { } ceiling
            ? new[] { ("x-budget-scope", task), ("x-budget-ceiling", BudgetFixture.Usd(ceiling)) }
            : [("x-budget-scope", task)];
        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, headers));
        return response.StatusCode;
    }
}
