using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// Admission holds the request's proven worst case (issue 13): every choice, images by formula, the limit the upstream
/// applies; a request with no bound is refused in reserve mode; two disagreeing limit fields are refused.
/// </summary>
[Collection(BudgetCollection.Name)]
public sealed class WorstCaseAdmissionTests
{
    private readonly BudgetFixture _fixture;

    public WorstCaseAdmissionTests(BudgetFixture fixture) => _fixture = fixture;

    private static JsonObject Budget(string scope, long capNano, string mode = "reserve", JsonObject? degrade = null)
    {
        var budget = new JsonObject { ["scope"] = scope, ["window"] = "daily", ["timezone"] = "UTC", ["mode"] = mode, ["cap_usd"] = BudgetFixture.Usd(capNano) };
        if (degrade is not null)
        {
            budget["degrade"] = degrade;
        }

        return budget;
    }

    [Fact]
    public async Task Every_choice_of_n_is_held_at_its_output_limit()
    {
        var secret = await _fixture.CreateKeyAsync("n-choices");
        var one = """{"model":"sim-chat","max_tokens":100,"n":1,"messages":[{"role":"user","content":"hello budget"}]}""";
        var eight = """{"model":"sim-chat","max_tokens":100,"n":8,"messages":[{"role":"user","content":"hello budget"}]}""";
        var cap = 2 * BudgetFixture.WorstCaseNano(one, 100);
        await _fixture.PutBudgetAsync("n-choices-daily", Budget("key:n-choices", cap));

        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, eight));
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("daily_cap_exceeded", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());

        using var served = await _fixture.Http.SendAsync(_fixture.Chat(secret, one));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var (spent, held, _) = await _fixture.BudgetStateAsync("n-choices-daily");
        Assert.Equal(0, held);
        Assert.True(spent <= cap);
    }

    [Fact]
    public async Task Two_limit_fields_that_disagree_are_refused_before_any_hold()
    {
        var secret = await _fixture.CreateKeyAsync("both-limits");
        await _fixture.PutBudgetAsync("both-limits-daily", Budget("key:both-limits", 1_000_000_000));

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, """{"model":"sim-chat","max_tokens":100000,"max_completion_tokens":1,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await BudgetFixture.ReadJsonAsync(response))["error"]!;
        Assert.Equal("invalid_request", error["code"]!.GetValue<string>());
        Assert.Equal("max_completion_tokens", error["param"]!.GetValue<string>());
        var (spent, held, _) = await _fixture.BudgetStateAsync("both-limits-daily");
        Assert.Equal((0, 0), (spent, held));

        using var agreeing = await _fixture.Http.SendAsync(_fixture.Chat(secret, """{"model":"sim-chat","max_tokens":5,"max_completion_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, agreeing.StatusCode);
    }

    [Fact]
    public async Task A_degrade_lowers_max_completion_tokens_so_the_upstream_applies_the_limit_held()
    {
        var secret = await _fixture.CreateKeyAsync("degrade-mct");
        var body = """{"model":"sim-long","max_completion_tokens":1000,"messages":[{"role":"user","content":"hello budget"}]}""";
        var cap = BudgetFixture.WorstCaseNano(body, 200);
        await _fixture.PutBudgetAsync("degrade-mct-daily", Budget("key:degrade-mct", cap, degrade: new JsonObject { ["min_max_tokens"] = 16 }));

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TryGetValues("x-budget-degraded", out var how));
        var lowered = int.Parse(how.Single()["max_tokens=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var record = Assert.Single(await _fixture.UsageOfKeyAsync("degrade-mct"));
        Assert.True(record.Tokens.OutputTokens <= lowered, $"{record.Tokens.OutputTokens} output tokens above the held {lowered}");
        var (spent, _, _) = await _fixture.BudgetStateAsync("degrade-mct-daily");
        Assert.True(spent <= cap, $"spent {spent} above the cap {cap}");
    }

    [Fact]
    public async Task An_image_is_held_by_the_models_published_formula()
    {
        var secret = await _fixture.CreateKeyAsync("image-bound");
        var text = """{"model":"mini-vision","max_tokens":10,"messages":[{"role":"user","content":"describe"}]}""";
        var image = """{"model":"mini-vision","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"https://example.invalid/x.png","detail":"high"}}]}]}""";

        // gpt-4o-mini: $0.15 per million input tokens; an image of unknown size is up to 48,169 tokens (not 3,000).
        var cap = (Encoding.UTF8.GetByteCount(image) + 256 + 10_000) * 150L;
        await _fixture.PutBudgetAsync("image-bound-daily", Budget("key:image-bound", cap));

        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, image));
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);

        using var served = await _fixture.Http.SendAsync(_fixture.Chat(secret, text));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task A_server_tool_without_max_uses_is_refused_in_reserve_mode_with_a_remedy()
    {
        var secret = await _fixture.CreateKeyAsync("unbounded-tool");
        await _fixture.PutBudgetAsync("unbounded-tool-daily", Budget("key:unbounded-tool", 1_000_000_000));
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent(
                """{"model":"claude-sim","max_tokens":100,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"news?"}]}""",
                Encoding.UTF8,
                "application/json"),
        };
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await _fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.Equal("error", json["type"]!.GetValue<string>());
        Assert.Equal("unbounded_request", json["error"]!["type"]!.GetValue<string>());
        Assert.Contains("max_uses", json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (spent, held, _) = await _fixture.BudgetStateAsync("unbounded-tool-daily");
        Assert.Equal((0, 0), (spent, held));
        Assert.Single(await _fixture.UsageOfKeyAsync("unbounded-tool"));
    }

    [Fact]
    public async Task A_request_with_no_bound_is_admitted_under_a_post_hoc_budget()
    {
        var secret = await _fixture.CreateKeyAsync("unbounded-posthoc");
        await _fixture.PutBudgetAsync("unbounded-posthoc-daily", Budget("key:unbounded-posthoc", 1_000_000_000, mode: "post_hoc"));

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, """{"model":"sim-chat","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"web_search_options":{}}"""));

        Assert.NotEqual(HttpStatusCode.PaymentRequired, response.StatusCode);
    }

    [Fact]
    public async Task An_anthropic_beta_the_operator_has_not_allowed_is_refused_before_any_hold()
    {
        var secret = await _fixture.CreateKeyAsync("beta-caller");
        await _fixture.PutBudgetAsync("beta-caller-daily", Budget("key:beta-caller", 1_000_000_000));

        HttpRequestMessage Messages(string beta)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
            {
                Content = new StringContent("""{"model":"claude-sim","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("x-api-key", secret);
            request.Headers.Add("anthropic-version", "2023-06-01");
            request.Headers.Add("anthropic-beta", beta);
            return request;
        }

        using var refused = await _fixture.Http.SendAsync(Messages("fine-grained-tool-streaming-2025-05-14, files-api-2025-04-14"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var json = await BudgetFixture.ReadJsonAsync(refused);
        Assert.Contains("files-api-2025-04-14", json["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (spent, held, _) = await _fixture.BudgetStateAsync("beta-caller-daily");
        Assert.Equal((0, 0), (spent, held));

        using var allowed = await _fixture.Http.SendAsync(Messages("extended-cache-ttl-2025-04-11"));
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Claude_codes_betas_on_an_openai_format_model_are_dropped_with_the_translation_not_refused()
    {
        var secret = await _fixture.CreateKeyAsync("beta-translated");
        await _fixture.PutBudgetAsync("beta-translated-daily", Budget("key:beta-translated", 1_000_000_000));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages")
        {
            Content = new StringContent("""{"model":"sim-chat","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", secret);
        request.Headers.Add("anthropic-version", "2023-06-01");
        request.Headers.Add("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,effort-2025-11-24");

        // The header travels only to an Anthropic upstream; the translated call cannot be billed by it.
        using var response = await _fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (spent, held, _) = await _fixture.BudgetStateAsync("beta-translated-daily");
        Assert.True(spent > 0);
        Assert.Equal(0, held);
    }

    [Fact]
    public async Task Near_the_cap_an_openai_models_messages_are_counted_exactly_instead_of_by_their_bytes()
    {
        var secret = await _fixture.CreateKeyAsync("exact-count");
        // Digits: o200k splits them in threes (more tokens than the simulator's bytes / 4, far fewer than the bytes).
        var text = string.Concat(Enumerable.Repeat("1234567890 ", 2000));
        var body = $$"""{"model":"mini-vision","max_tokens":10,"messages":[{"role":"user","content":"{{text}}"}]}""";

        // gpt-4o-mini: $0.15 in, $0.60 out per million. The byte bound holds ~22,000 input tokens; o200k counts ~10,000.
        var byteHold = ((Encoding.UTF8.GetByteCount(body) + 256) * 150L) + (10 * 600L);
        await _fixture.PutBudgetAsync("exact-count-daily", Budget("key:exact-count", byteHold * 7 / 10));

        using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("x-budget-degraded"));
        var (spent, held, _) = await _fixture.BudgetStateAsync("exact-count-daily");
        Assert.Equal(0, held);
        Assert.True(spent <= byteHold * 7 / 10);
    }

    [Fact]
    public async Task A_file_part_is_bounded_by_the_context_window_or_refused_when_there_is_none()
    {
        var secret = await _fixture.CreateKeyAsync("file-part");
        await _fixture.PutBudgetAsync("file-part-daily", Budget("key:file-part", 1_000_000_000));
        static string Body(string model) =>
            $$$"""{"model":"{{{model}}}","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":"summarise"},{"type":"file","file":{"file_id":"file-abc"}}]}]}""";

        // sim-long has no known context window: nothing bounds what the file is billed.
        using var refused = await _fixture.Http.SendAsync(_fixture.Chat(secret, Body("sim-long")));
        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        Assert.Equal("unbounded_request", (await BudgetFixture.ReadJsonAsync(refused))["error"]!["code"]!.GetValue<string>());

        // gpt-4o-mini's 128K window bounds it: held at the whole window, which this budget cannot fit.
        await _fixture.PutBudgetAsync("file-part-daily", Budget("key:file-part", 127_000 * 150L));
        using var tooBig = await _fixture.Http.SendAsync(_fixture.Chat(secret, Body("mini-vision")));
        Assert.Equal(HttpStatusCode.PaymentRequired, tooBig.StatusCode);
        Assert.Equal("daily_cap_exceeded", (await BudgetFixture.ReadJsonAsync(tooBig))["error"]!["code"]!.GetValue<string>());
    }
}
