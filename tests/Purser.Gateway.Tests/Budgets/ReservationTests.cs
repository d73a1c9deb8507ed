using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Reservations through the gateway, with leases on (the reservation must lower the headroom a lease sees): refused
/// before any call when it does not fit; a runtime's loop (reserve, split, call with the header, release) gives back
/// exactly what was not spent; another key of the team cannot spend the money held; bad reservation headers are 4xx
/// with nothing held.
/// </summary>
public sealed class ReservationTests : IAsyncLifetime
{
    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), leases: true);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_reservation_that_does_not_fit_is_refused_before_any_call_with_nothing_held()
    {
        var secret = await _fixture.CreateKeyAsync("planner", "tight-team");
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 1_000_000_000));

        using var refused = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", secret, """{"amount_usd":"1.000000001","label":"too big"}""");
        var json = await BudgetFixture.ReadJsonAsync(refused);
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("reservation_does_not_fit", json["error"]!["code"]!.GetValue<string>());
        Assert.Contains("$1 remains", json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal((0L, 0L), Drop(await _fixture.BudgetStateAsync("tight-team-daily")));
        Assert.Empty(await _fixture.UsageOfKeyAsync("planner"));

        foreach (var bad in (string[])["""{"amount_usd":"0"}""", """{"amount_usd":"-1"}""", """{"amount_usd":"0.0000000001"}""", """{"amount_usd":1e3}""",
            """{"amount_usd":"1","ttl_seconds":0}""", """{"amount_usd":"1","extra":1}""", """{"amount_usd":"1","parent":"no such/id"}""", "[]", "{",
            """{"amount_usd":"0.5","amount_usd":"0.5"}""", """{"amount_usd":"1","label":"\ud800"}""", """{"amount_usd":"1","label":5}"""])
        {
            using var response = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", secret, bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.NotNull((await BudgetFixture.ReadJsonAsync(response))["error"]);
        }

        Assert.Equal((0L, 0L), Drop(await _fixture.BudgetStateAsync("tight-team-daily")));
    }

    [Fact]
    public async Task A_runtime_reserves_splits_calls_with_the_header_and_releases_exactly_the_unspent_remainder()
    {
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        var planner = await _fixture.CreateKeyAsync("swarm", "tight-team");
        var other = await _fixture.CreateKeyAsync("bystander", "tight-team");
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 10 * worst));

        var root = await CreateAsync(planner, $$"""{"amount_usd":"{{BudgetFixture.Usd(8 * worst)}}","ttl_seconds":900,"label":"task"}""");
        var child = await CreateAsync(planner, $$"""{"amount_usd":"{{BudgetFixture.Usd(3 * worst)}}","parent":"{{root}}","label":"sub-agent"}""");
        var (_, held, _) = await _fixture.BudgetStateAsync("tight-team-daily");
        Assert.Equal(8 * worst, held);

        // The bystander can take only what the reservation does not hold: two worst cases, not three.
        var three = BudgetFixture.ChatBody(400);
        Assert.InRange(BudgetFixture.WorstCaseNano(three, 400), (2 * worst) + 1, 10 * worst);
        using (var refused = await _fixture.Http.SendAsync(_fixture.Chat(other, three)))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        }

        // Three calls on the child's share fit; a fourth does not, whatever the team's headroom.
        for (var i = 0; i < 3; i++)
        {
            using var ok = await _fixture.Http.SendAsync(_fixture.Chat(planner, body, ("x-budget-reservation", child)));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.True(ok.Headers.TryGetValues("x-budget-reservation-remaining", out var remaining));
            Assert.True(BudgetFixture.Nano(Assert.Single(remaining)) <= 3 * worst - worst);
        }

        var spent = Spent(await _fixture.UsageOfKeyAsync("swarm"));
        var view = await GetAsync(planner, root);
        Assert.Equal(spent, BudgetFixture.Nano(view["spent_usd"]!.GetValue<string>()));
        Assert.Equal(spent, BudgetFixture.Nano(view["children"]![0]!["spent_usd"]!.GetValue<string>()));
        var childRemaining = 3 * worst - spent;
        using (var exhausted = await _fixture.Http.SendAsync(_fixture.Chat(planner, BudgetFixture.ChatBody(1000), ("x-budget-reservation", child))))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, exhausted.StatusCode);
            Assert.Equal("reservation_exhausted", (await BudgetFixture.ReadJsonAsync(exhausted))["error"]!["code"]!.GetValue<string>());
        }

        using (var released = await SendAsync(HttpMethod.Delete, "/v1/budget/reservations/" + root, planner, null))
        {
            var json = await BudgetFixture.ReadJsonAsync(released);
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
            Assert.Equal("released", json["status"]!.GetValue<string>());
            Assert.Equal(childRemaining, BudgetFixture.Nano(json["released"]![0]!["returned_usd"]!.GetValue<string>()));
            Assert.Equal(8 * worst - spent, BudgetFixture.Nano(json["released"]![1]!["returned_usd"]!.GetValue<string>()));
        }

        Assert.Equal((spent, 0L), Drop(await _fixture.BudgetStateAsync("tight-team-daily")));
        using var after = await _fixture.Http.SendAsync(_fixture.Chat(planner, body, ("x-budget-reservation", child)));
        Assert.Equal(HttpStatusCode.BadRequest, after.StatusCode);
    }

    [Fact]
    public async Task Unknown_foreign_and_malformed_reservation_headers_are_refused_with_nothing_held_or_charged()
    {
        var body = BudgetFixture.ChatBody(100);
        var owner = await _fixture.CreateKeyAsync("owner", "tight-team");
        var thief = await _fixture.CreateKeyAsync("thief", "tight-team");
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 1_000_000_000));
        var id = await CreateAsync(owner, """{"amount_usd":0.25}""");

        foreach (var (secret, header, status) in ((string, string, HttpStatusCode)[])[
            (owner, "rsv_unknown", HttpStatusCode.NotFound), (thief, id, HttpStatusCode.NotFound), (owner, "bad id!", HttpStatusCode.BadRequest)])
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-reservation", header)));
            Assert.Equal(status, response.StatusCode);
            Assert.NotNull((await BudgetFixture.ReadJsonAsync(response))["error"]!["code"]);
        }

        using (var foreign = await SendAsync(HttpMethod.Get, "/v1/budget/reservations/" + id, thief, null))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        }

        using (var foreignRelease = await SendAsync(HttpMethod.Delete, "/v1/budget/reservations/" + id, thief, null))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreignRelease.StatusCode);
        }

        Assert.Equal((0L, 250_000_000L), Drop(await _fixture.BudgetStateAsync("tight-team-daily")));
        Assert.Equal(0, Spent(await _fixture.UsageOfKeyAsync("thief")));
        Assert.Equal("0.25", (await GetAsync(owner, id))["remaining_usd"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_sweep_expires_reservations_children_first_and_gives_back_the_remainder()
    {
        var body = BudgetFixture.ChatBody(100);
        var secret = await _fixture.CreateKeyAsync("sweep", "tight-team");
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 1_000_000_000));
        var root = await CreateAsync(secret, """{"amount_usd":"0.5","ttl_seconds":60}""");
        var child = await CreateAsync(secret, $$"""{"amount_usd":"0.2","ttl_seconds":30,"parent":"{{root}}"}""");
        using (var ok = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-reservation", child))))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        var spent = Spent(await _fixture.UsageOfKeyAsync("sweep"));
        string status = "live";
        for (var i = 0; i < 40 && status == "live"; i++)
        {
            _fixture.Time.Advance(TimeSpan.FromSeconds(5));
            await Poll.NextAsync(20);
            status = (await GetAsync(secret, root))["status"]!.GetValue<string>();
        }

        Assert.Equal("expired", status);
        Assert.Equal("expired", (await GetAsync(secret, child))["status"]!.GetValue<string>());
        Assert.Equal((spent, 0L), Drop(await _fixture.BudgetStateAsync("tight-team-daily")));
        using var late = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-reservation", root)));
        Assert.Equal("invalid_reservation", (await BudgetFixture.ReadJsonAsync(late))["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reservation_naming_a_task_holds_on_its_ceiling_too()
    {
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        var secret = await _fixture.CreateKeyAsync("tasker");
        using (var first = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "plan-7"), ("x-budget-ceiling", BudgetFixture.Usd(4 * worst)))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        var spent = Spent(await _fixture.UsageOfKeyAsync("tasker"));
        using (var tooBig = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", secret, $$"""{"amount_usd":"{{BudgetFixture.Usd(4 * worst - spent + 1)}}"}""", ("x-budget-scope", "plan-7")))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, tooBig.StatusCode);
            Assert.Contains("task:", (await BudgetFixture.ReadJsonAsync(tooBig))["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using var fits = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", secret, $$"""{"amount_usd":"{{BudgetFixture.Usd(3 * worst)}}"}""", ("x-budget-scope", "plan-7"));
        var json = await BudgetFixture.ReadJsonAsync(fits);
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
        Assert.Contains(json["budget_path"]!.AsArray(), p => p!.GetValue<string>().StartsWith("task:", StringComparison.Ordinal));

        // The task's other calls (no reservation header) now have one worst case minus what was spent, not four.
        using var crowded = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(400), ("x-budget-scope", "plan-7")));
        Assert.Equal(HttpStatusCode.PaymentRequired, crowded.StatusCode);
        using var drawn = await _fixture.Http.SendAsync(_fixture.Chat(secret, body, ("x-budget-scope", "plan-7"), ("x-budget-reservation", json["id"]!.GetValue<string>())));
        Assert.Equal(HttpStatusCode.OK, drawn.StatusCode);
    }

    [Fact]
    public async Task Embeddings_draw_on_a_reservation_and_a_token_capped_path_refuses_to_reserve()
    {
        var secret = await _fixture.CreateKeyAsync("embedder");
        var id = await CreateAsync(secret, """{"amount_usd":"0.01"}""");
        using var request = _fixture.Embeddings(secret, """{"model":"sim-embed","input":"hello reservations"}""");
        request.Headers.TryAddWithoutValidation("x-budget-reservation", id);
        using (var ok = await _fixture.Http.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.True(ok.Headers.Contains("x-budget-reservation-remaining"));
        }

        var spent = Spent(await _fixture.UsageOfKeyAsync("embedder"));
        Assert.True(spent > 0);
        Assert.Equal(BudgetFixture.Usd(spent), (await GetAsync(secret, id))["spent_usd"]!.GetValue<string>());

        var capped = await _fixture.CreateKeyAsync("token-capped");
        var budget = Budget("key:token-capped", 1_000_000_000);
        budget["cap_tokens"] = 100_000;
        await _fixture.PutBudgetAsync("token-capped-daily", budget);
        using var refused = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", capped, """{"amount_usd":"0.01"}""");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_reservation", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());
        Assert.Equal((0L, 0L), Drop(await _fixture.BudgetStateAsync("token-capped-daily")));
    }

    private static (long, long) Drop((long Spent, long Held, JsonObject _) state) => (state.Spent, state.Held);

    private static long Spent(IReadOnlyList<Purser.Usage.UsageRecord> records)
    {
        long total = 0;
        foreach (var record in records)
        {
            total += record.Cost.NanoUsd;
        }

        return total;
    }

    private async Task<string> CreateAsync(string secret, string body)
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", secret, body);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToJsonString());
        return json["id"]!.GetValue<string>();
    }

    private async Task<JsonObject> GetAsync(string secret, string id)
    {
        using var response = await SendAsync(HttpMethod.Get, "/v1/budget/reservations/" + id, secret, null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await BudgetFixture.ReadJsonAsync(response);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string secret, string? body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return _fixture.Http.SendAsync(request);
    }

    [Fact]
    public async Task A_reservation_holds_on_model_narrowed_budgets_too_and_never_on_end_user_or_tag_ones()
    {
        var body = BudgetFixture.ChatBody(100);
        var worst = BudgetFixture.WorstCaseNano(body, 100);
        var planner = await _fixture.CreateKeyAsync("narrowed", "tight-team");
        await _fixture.PutBudgetAsync("tight-team-daily", Budget("team:tight-team", 10 * worst));
        var narrowed = Budget("key:narrowed", 10 * worst);
        narrowed["model"] = "sim-chat";
        await _fixture.PutBudgetAsync("narrowed-sim-chat", narrowed);

        // Held on the model-narrowed budget as well, whichever model the draws will name: its cap cannot be passed.
        var root = await CreateAsync(planner, $$"""{"amount_usd":"{{BudgetFixture.Usd(5 * worst)}}","label":"task"}""");
        Assert.Equal(5 * worst, (await _fixture.BudgetStateAsync("narrowed-sim-chat")).Held);
        using (var ok = await _fixture.Http.SendAsync(_fixture.Chat(planner, body, ("x-budget-reservation", root))))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // An end-user budget is the draw's own: a reservation named for an end user is refused, and so is a draw under one.
        var userBudget = Budget("user:*", worst);
        userBudget["under"] = "key:narrowed";
        await _fixture.PutBudgetAsync("per-user", userBudget);
        using var refusedUser = await SendAsync(HttpMethod.Post, "/v1/budget/reservations", planner, """{"amount_usd":"0.01"}""", ("x-budget-user", "alice"));
        Assert.Equal(HttpStatusCode.BadRequest, refusedUser.StatusCode);
        Assert.Equal("invalid_reservation", (await BudgetFixture.ReadJsonAsync(refusedUser))["error"]!["code"]!.GetValue<string>());

        var before = await _fixture.UsageOfKeyAsync("narrowed");
        using var refusedDraw = await _fixture.Http.SendAsync(_fixture.Chat(planner, body, ("x-budget-reservation", root), ("x-budget-user", "bob")));
        Assert.Equal(HttpStatusCode.BadRequest, refusedDraw.StatusCode);
        Assert.Equal("invalid_reservation", (await BudgetFixture.ReadJsonAsync(refusedDraw))["error"]!["code"]!.GetValue<string>());
        Assert.Equal(Spent(before), Spent(await _fixture.UsageOfKeyAsync("narrowed")));
    }

    private static JsonObject Budget(string scope, long capNano) => new()
    {
        ["scope"] = scope,
        ["window"] = "daily",
        ["timezone"] = "UTC",
        ["mode"] = "reserve",
        ["cap_usd"] = BudgetFixture.Usd(capNano),
    };
}
