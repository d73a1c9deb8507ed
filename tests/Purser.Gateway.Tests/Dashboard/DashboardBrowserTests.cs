using System.Net;
using Microsoft.Playwright;
using Purser.Gateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Purser.Gateway.Tests.Dashboard;

/// <summary>The dashboard in a real browser against a real gateway and the simulated provider.</summary>
public sealed class DashboardBrowserTests : IClassFixture<BudgetFixture>, IClassFixture<DashboardBrowser>
{
    private readonly BudgetFixture _gateway;
    private readonly DashboardBrowser _browser;

    public DashboardBrowserTests(BudgetFixture gateway, DashboardBrowser browser)
    {
        _gateway = gateway;
        _browser = browser;
    }

    [Fact]
    public async Task A_key_created_and_capped_in_the_dashboard_shows_a_full_bar_and_the_block_after_the_api_exhausts_it()
    {
        var page = await SignedInPageAsync();

        await page.GotoAsync("/ui/keys");
        await page.FillAsync("#create-key input[name=id]", "ui-alice");
        await page.ClickAsync("#create-key button[type=submit]");
        var secret = (await page.Locator("#secret-value").TextContentAsync())!.Trim();
        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        await DashboardBrowser.ScreenshotAsync(page, "keys-created");

        // The secret is in that one answer only: not on the next visit of the page, nor in the admin API.
        await page.GotoAsync("/ui/keys");
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        // A post-hoc cap below one request's cost: the first request is admitted and spends past it, the next is blocked.
        var row = page.Locator("tr[data-key=ui-alice]");
        await row.Locator("summary", new() { HasText = "Cap" }).ClickAsync();
        await row.Locator(".cap-form input[name=cap_usd]").FillAsync("0.000001");
        await row.Locator(".cap-form select[name=mode]").SelectOptionAsync("post_hoc");
        await row.Locator(".cap-form button[type=submit]").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Set the cap of ui-alice");

        using (var first = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var second = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16))))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, second.StatusCode);
        }

        await page.GotoAsync("/ui/budgets");
        await Expect(page.Locator("tr[data-budget=key-cap-ui-alice] svg[data-percent]")).ToHaveAttributeAsync("data-percent", "100");
        await DashboardBrowser.ScreenshotAsync(page, "budgets");

        // The block event arrives through the live feed (events are written in the background).
        await page.GotoAsync("/ui/events?type=budget.blocked&scope=key:ui-alice");
        await Expect(page.Locator("#event-feed tr[data-type='budget.blocked']").First).ToBeVisibleAsync();
        await DashboardBrowser.ScreenshotAsync(page, "events");

        await page.GotoAsync("/ui?range=hour&group=key");
        await Expect(page.Locator("#spend-chart rect[fill='#2f5bd3']").First).ToBeAttachedAsync();
        await DashboardBrowser.ScreenshotAsync(page, "overview");

        await page.GotoAsync("/ui/usage?key_id=ui-alice");
        await Expect(page.Locator("#usage tbody tr")).ToHaveCountAsync(2);
        await DashboardBrowser.ScreenshotAsync(page, "usage");
        var csv = await page.Context.APIRequest.GetAsync((await page.Locator("#csv-link").GetAttributeAsync("href"))!);
        Assert.Equal(200, csv.Status);
        Assert.Contains("ui-alice", await csv.TextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lowering_an_ensembles_max_cost_in_the_form_degrades_the_next_request_with_its_header()
    {
        var secret = await _gateway.CreateKeyAsync("ui-ensemble-caller");
        var page = await SignedInPageAsync();

        await page.GotoAsync("/ui/ensembles");
        await page.FillAsync("input[name=alias]", "ui-duo");
        await page.FillAsync("textarea[name=panel]", "sim-chat\nclaude-sim");
        await page.FillAsync("input[name=judge]", "sim-chat");
        await page.FillAsync("input[name=min_responses]", "1");
        await page.FillAsync("input[name=max_cost_usd]", "10");
        await page.FillAsync("textarea[name=sample_prompt]", Sample);
        await Expect(page.Locator("#projected-outcome")).ToContainTextAsync("full panel of 2");
        var projected = (await page.Locator("#projected-cost").TextContentAsync())!.TrimStart('$');
        await page.ClickAsync("#ensemble-form button[type=submit]");
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved ensemble ui-duo");

        // The request the sample stands for: the dashboard's projection is the executor's, to the nano-dollar.
        using (var full = await _gateway.Http.SendAsync(_gateway.Chat(secret, SampleBody)))
        {
            Assert.Equal(HttpStatusCode.OK, full.StatusCode);
            Assert.False(full.Headers.Contains("x-ensemble-degraded"));
            Assert.Equal(projected, Assert.Single(full.Headers.GetValues("x-ensemble-projected-cost")));
        }

        // As the cap is typed, the server's projection says the ensemble would be degraded to its judge alone.
        await page.FillAsync("input[name=max_cost_usd]", "0.01");
        await Expect(page.Locator("#projected-outcome")).ToContainTextAsync("degraded to sim-chat by max_cost_usd");
        await DashboardBrowser.ScreenshotAsync(page, "ensembles");
        await page.ClickAsync("#ensemble-form button[type=submit]");
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved ensemble ui-duo");
        Assert.Equal("0.01", await page.InputValueAsync("input[name=max_cost_usd]"));

        using var degraded = await _gateway.Http.SendAsync(_gateway.Chat(secret, SampleBody));
        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        Assert.Contains("max_cost_usd", Assert.Single(degraded.Headers.GetValues("x-ensemble-degraded")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ensemble_form_with_an_invalid_value_is_refused_naming_the_field()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/ensembles");
        await page.FillAsync("input[name=alias]", "ui-bad");
        await page.FillAsync("textarea[name=panel]", "sim-chat");
        await page.FillAsync("input[name=judge]", "no-such-model");
        await page.FillAsync("input[name=min_responses]", "1");
        await Expect(page.Locator("#projection-result")).ToContainTextAsync("judge");
        await page.ClickAsync("#ensemble-form button[type=submit]");
        await Expect(page.Locator("p[role=alert]")).ToContainTextAsync("judge.model: unknown model");
        Assert.Equal("no-such-model", await page.InputValueAsync("input[name=judge]"));
    }

    [Fact]
    public async Task A_key_revoked_in_the_dashboard_is_refused_by_the_api()
    {
        var secret = await _gateway.CreateKeyAsync("ui-revoked");
        using (var before = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(8))))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/keys");
        await page.Locator("tr[data-key=ui-revoked] button.danger").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Revoked ui-revoked");
        await Expect(page.Locator("tr[data-key=ui-revoked]")).ToContainTextAsync("revoked");

        using var after = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(8)));
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Models_bedtime_and_wake_are_set_from_the_keys_page_through_the_admin_logic()
    {
        var secret = await _gateway.CreateKeyAsync("ui-night");
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/keys");
        var row = page.Locator("tr[data-key=ui-night]");

        await row.Locator("summary", new() { HasText = "Models" }).ClickAsync();
        await row.Locator("form[action$='/models'] input[name=models]").FillAsync("sim-mini");
        await row.Locator("form[action$='/models'] button").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Set the models of ui-night");
        using (var refused = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(8))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        await row.Locator("summary", new() { HasText = "Bedtime" }).ClickAsync();
        await row.Locator("form[action$='/bedtime'] input[name=hours]").FillAsync("22:00-07:00");
        await row.Locator("form[action$='/bedtime'] input[name=timezone]").FillAsync("Europe/Paris");
        await row.Locator("form[action$='/bedtime'] button").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved the bedtime policy of ui-night");
        await Expect(row).ToContainTextAsync("22:00-07:00 Europe/Paris");

        await row.Locator("form[action$='/wake'] button").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Woke ui-night");
        await page.GotoAsync("/ui/events?type=bedtime.woke");
        await Expect(page.Locator("#event-feed tr[data-type='bedtime.woke']").First).ToContainTextAsync("key:ui-night");
    }

    [Fact]
    public async Task A_per_end_user_budget_made_in_the_form_lists_its_end_users_top_spender_first()
    {
        var secret = await _gateway.CreateKeyAsync("ui-end-users");
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/budgets");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=id] >> nth=-1", "ui-per-user");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=scope] >> nth=-1", "user:*");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=under] >> nth=-1", "key:ui-end-users");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=cap_usd] >> nth=-1", "1");
        await page.Locator("form[action='/ui/budgets/save'] select[name=window] >> nth=-1").SelectOptionAsync("rolling_24h");
        await page.Locator("form[action='/ui/budgets/save'] button >> nth=-1").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved budget ui-per-user");

        foreach (var (user, requests) in new[] { ("carol", 1), ("alice", 3) })
        {
            for (var i = 0; i < requests; i++)
            {
                using var response = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16), ("x-budget-user", user)));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        await page.GotoAsync("/ui/budgets");
        var rows = page.Locator("table.end-users[data-budget=ui-per-user] tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        Assert.Equal("alice", await rows.Nth(0).GetAttributeAsync("data-end-user"));
        Assert.Equal("carol", await rows.Nth(1).GetAttributeAsync("data-end-user"));
        await Expect(page.Locator("tr[data-budget=ui-per-user]")).ToContainTextAsync("under key:ui-end-users");
        await DashboardBrowser.ScreenshotAsync(page, "end-users");
    }

    [Fact]
    public async Task A_soft_budget_made_in_the_form_keeps_its_throttle_rpm()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/budgets");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=id] >> nth=-1", "ui-throttled");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=scope] >> nth=-1", "global");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=cap_usd] >> nth=-1", "100");
        await page.Locator("form[action='/ui/budgets/save'] select[name=enforcement] >> nth=-1").SelectOptionAsync("soft");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=throttle_rpm] >> nth=-1", "5");
        await page.Locator("form[action='/ui/budgets/save'] button >> nth=-1").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved budget ui-throttled");

        var (_, _, budget) = await _gateway.BudgetStateAsync("ui-throttled");
        Assert.Equal(5, budget["degrade"]!["throttle_rpm"]!.GetValue<int>());
        await page.GotoAsync("/ui/budgets");
        Assert.Equal("5", await page.Locator("form[action='/ui/budgets/save']:has(input[name=id][value='ui-throttled']) input[name=throttle_rpm]").InputValueAsync());
    }

    [Fact]
    public async Task A_budget_form_with_an_invalid_cap_is_refused_naming_the_field_and_nothing_is_stored()
    {
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/budgets");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=id] >> nth=-1", "ui-team-budget");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=scope] >> nth=-1", "team:wide-team");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=cap_usd] >> nth=-1", "lots");
        await page.Locator("form[action='/ui/budgets/save'] button >> nth=-1").ClickAsync();
        await Expect(page.Locator("p[role=alert]")).ToContainTextAsync("cap_usd");
        Assert.Equal(0, await page.Locator("tr[data-budget=ui-team-budget]").CountAsync());

        await page.GotoAsync("/ui/budgets");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=id] >> nth=-1", "ui-team-budget");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=scope] >> nth=-1", "team:wide-team");
        await page.FillAsync("form[action='/ui/budgets/save'] input[name=cap_usd] >> nth=-1", "25");
        await page.Locator("form[action='/ui/budgets/save'] select[name=window] >> nth=-1").SelectOptionAsync("monthly");
        await page.Locator("form[action='/ui/budgets/save'] select[name=enforcement] >> nth=-1").SelectOptionAsync("soft");
        await page.Locator("form[action='/ui/budgets/save'] button >> nth=-1").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved budget ui-team-budget");
        var (_, _, budget) = await _gateway.BudgetStateAsync("ui-team-budget");
        Assert.Equal("monthly", budget["window"]!.GetValue<string>());
        Assert.Equal("soft", budget["enforcement"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_keys_page_shows_the_tightest_budget_and_the_cap_form_edits_the_budget_picked()
    {
        // Two budgets on one key; the alphabetically first is the roomy one, the other is spent past its cap.
        var secret = await _gateway.CreateKeyAsync("ui-two");
        await _gateway.CreateKeyAsync("ui-two-neighbour");
        await _gateway.PutBudgetAsync("ui-two-neighbour-cap", new System.Text.Json.Nodes.JsonObject { ["scope"] = "key:ui-two-neighbour", ["cap_usd"] = "3" });
        await _gateway.PutBudgetAsync("ui-two-a-monthly", new System.Text.Json.Nodes.JsonObject { ["scope"] = "key:ui-two", ["window"] = "monthly", ["cap_usd"] = "100", ["alert_thresholds"] = new System.Text.Json.Nodes.JsonArray(25, 75) });
        await _gateway.PutBudgetAsync("ui-two-z-daily", new System.Text.Json.Nodes.JsonObject { ["scope"] = "key:ui-two", ["cap_usd"] = "0.000001", ["mode"] = "post_hoc" });
        using (var spend = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16))))
        {
            Assert.Equal(HttpStatusCode.OK, spend.StatusCode);
        }

        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/keys");
        var row = page.Locator("tr[data-key=ui-two]");
        await Expect(row.Locator(".tightest")).ToHaveAttributeAsync("data-budget", "ui-two-z-daily");
        await Expect(row.Locator(".tightest svg[data-percent]")).ToHaveAttributeAsync("data-percent", "100");
        await Expect(row.Locator(".tightest")).ToContainTextAsync("tightest of 2");

        // The Cap form starts on the tightest budget; picking the other shows its fields, and saving edits only it.
        await row.Locator("summary", new() { HasText = "Cap" }).ClickAsync();
        var form = row.Locator(".cap-form");
        Assert.Equal("ui-two-z-daily", await form.Locator("select[name=budget]").InputValueAsync());
        Assert.Equal("0.000001", await form.Locator("input[name=cap_usd]").InputValueAsync());
        await form.Locator("select[name=budget]").SelectOptionAsync("ui-two-a-monthly");
        Assert.Equal("100", await form.Locator("input[name=cap_usd]").InputValueAsync());
        Assert.Equal("monthly", await form.Locator("select[name=window]").InputValueAsync());
        Assert.Equal("reserve", await form.Locator("select[name=mode]").InputValueAsync());
        await form.Locator("input[name=cap_usd]").FillAsync("250");
        await DashboardBrowser.ScreenshotAsync(page, "keys-cap-form");
        await form.Locator("button[type=submit]").ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("budget ui-two-a-monthly");

        var (_, _, monthly) = await _gateway.BudgetStateAsync("ui-two-a-monthly");
        Assert.Equal("250", monthly["cap_usd"]!.GetValue<string>());
        Assert.Equal("monthly", monthly["window"]!.GetValue<string>());
        Assert.Equal("[25,75]", monthly["alert_thresholds"]!.ToJsonString());
        var (_, _, daily) = await _gateway.BudgetStateAsync("ui-two-z-daily");
        Assert.Equal("0.000001", daily["cap_usd"]!.GetValue<string>());
        Assert.Equal("post_hoc", daily["mode"]!.GetValue<string>());

        // Another key's budget cannot be edited through this key's form, whatever is posted.
        var foreign = await page.Context.APIRequest.PostAsync("/ui/keys/ui-two/cap", new()
        {
            Form = FormWith(page.Context.APIRequest, ("budget", "ui-two-neighbour-cap"), ("cap_usd", "9"), (Purser.Gateway.Dashboard.DashboardSetup.CsrfField, await form.Locator("input[name='" + Purser.Gateway.Dashboard.DashboardSetup.CsrfField + "']").InputValueAsync())),
        });
        Assert.Equal(400, foreign.Status);
        var (_, _, neighbour) = await _gateway.BudgetStateAsync("ui-two-neighbour-cap");
        Assert.Equal("3", neighbour["cap_usd"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sign_in_returns_only_into_the_dashboard_and_a_non_ascii_or_hostile_return_is_never_a_500()
    {
        (string Return, string Lands, string Heading)[] cases =
        [
            ("/ui/keys?x=ü漢", "/ui/keys?x=%C3%BC%E6%BC%A2", "Keys"),
            ("/ui/usage?key_id=😀", "/ui/usage?key_id=%F0%9F%98%80", "Usage"),
            ("//evil.example/ui", "/ui", "Overview"),
            ("https://evil.example/ui", "/ui", "Overview"),
            ("/ui\\evil.example", "/ui", "Overview"),
            ("/ui/../admin/keys", "/ui", "Overview"),
            ("/ui/keys\r\nSet-Cookie: a=b", "/ui", "Overview"),
        ];
        foreach (var (back, lands, heading) in cases)
        {
            var page = await _browser.NewPageAsync(_gateway.Gateway.BaseAddress);
            var signIn = await page.GotoAsync("/ui/signin?return=" + Uri.EscapeDataString(back));
            Assert.Equal(200, signIn!.Status);
            await page.FillAsync("input[name=admin_key]", BudgetFixture.AdminSecret);
            await page.ClickAsync("button[type=submit]");
            await Expect(page.Locator("h1")).ToHaveTextAsync(heading);
            Assert.Equal(_gateway.Gateway.BaseAddress.GetLeftPart(UriPartial.Authority) + lands, page.Url);
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task A_wrong_admin_key_does_not_sign_in()
    {
        var page = await _browser.NewPageAsync(_gateway.Gateway.BaseAddress);
        await page.GotoAsync("/ui/keys");
        Assert.EndsWith("/ui/signin?return=%2Fui%2Fkeys", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=admin_key]", "sk-not-the-admin-key");
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator(".msg.error")).ToContainTextAsync("not the admin key");
        await DashboardBrowser.ScreenshotAsync(page, "signin");
        var cookies = await page.Context.CookiesAsync();
        Assert.DoesNotContain(cookies, c => c.Name == "purser_ui");
    }

    [Fact]
    public async Task The_session_cookie_is_http_only_strict_and_scoped_to_the_dashboard()
    {
        var page = await SignedInPageAsync();
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "purser_ui");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.Equal("/ui", session.Path);
        Assert.Equal("Overview", await page.Locator("h1").TextContentAsync());
    }

    [Fact]
    public async Task Forms_posted_with_the_session_but_without_the_antiforgery_token_are_refused()
    {
        var page = await SignedInPageAsync();
        foreach (var path in FormPaths)
        {
            var response = await page.Context.APIRequest.PostAsync(path, new() { Form = FormWith(page.Context.APIRequest, ("id", "csrf-probe"), ("alias", "csrf-probe")) });
            Assert.True(response.Status == 400, $"{path}: {response.Status}");
        }

        using var keys = await _gateway.Http.GetAsync("/admin/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, keys.StatusCode);
    }

    [Fact]
    public async Task A_rate_limit_created_in_the_dashboard_refuses_the_next_request_and_a_wrong_field_is_named()
    {
        var secret = await _gateway.CreateKeyAsync("ui-limited");
        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/rate-limits");
        await page.FillAsync("#new-limit input[name=id]", "ui-rpm");
        await page.FillAsync("#new-limit input[name=scope]", "key:ui-limited");
        await page.FillAsync("#new-limit input[name=requests_per_minute]", "1");
        await page.FillAsync("#new-limit input[name=max_concurrent]", "2");
        await page.ClickAsync("#new-limit button[type=submit]");
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Saved rate limit ui-rpm");
        var row = page.Locator("tr[data-limit=ui-rpm]");
        await Expect(row).ToContainTextAsync("key:ui-limited");
        await DashboardBrowser.ScreenshotAsync(page, "rate-limits");

        using (var first = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16))))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var second = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        }

        // An out-of-range value is refused with the field named, and nothing changes.
        await row.Locator("summary", new() { HasText = "Edit" }).ClickAsync();
        await row.Locator(".limit-form input[name=requests_per_minute]").FillAsync("0");
        await row.Locator(".limit-form button[type=submit]").ClickAsync();
        await Expect(page.Locator(".msg.error")).ToContainTextAsync("requests_per_minute");

        await page.GotoAsync("/ui/rate-limits");
        await page.Locator("tr[data-limit=ui-rpm] summary", new() { HasText = "Edit" }).ClickAsync();
        await page.Locator("tr[data-limit=ui-rpm] button", new() { HasText = "Delete" }).ClickAsync();
        await Expect(page.Locator(".msg.ok")).ToContainTextAsync("Deleted rate limit ui-rpm");
        await Expect(page.Locator("tr[data-limit=ui-rpm]")).ToHaveCountAsync(0);
        using var third = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16)));
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task Without_the_session_every_page_redirects_to_sign_in_and_every_form_is_refused()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = _gateway.Gateway.BaseAddress };
        foreach (var path in (string[])["/ui", "/ui/budgets", "/ui/keys", "/ui/ensembles", "/ui/ensembles?alias=x", "/ui/rate-limits", "/ui/events", "/ui/reservations", "/ui/usage", "/ui/usage.csv"])
        {
            using var response = await anonymous.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{path}: {response.StatusCode}");
            Assert.StartsWith("/ui/signin?return=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        using (var feed = await anonymous.GetAsync("/ui/events/feed"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, feed.StatusCode);
        }

        foreach (var path in FormPaths)
        {
            using var form = new FormUrlEncodedContent([new("id", "anon-probe"), new("alias", "anon-probe"), new("cap_usd", "1")]);
            using var response = await anonymous.PostAsync(path, form);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {response.StatusCode}");
        }

        var stored = await ((Purser.Admin.IAdminStore)_gateway.Gateway.Services.GetService(typeof(Purser.Admin.IAdminStore))!).ListKeysAsync(CancellationToken.None);
        Assert.DoesNotContain(stored, k => k.Id == "anon-probe");
    }

    private const string Sample = "Compare these two offers and pick one.";

    private const string SampleBody = $$"""{"model":"ui-duo","messages":[{"role":"user","content":"{{Sample}}"}]}""";

    private static readonly string[] FormPaths =
    [
        "/ui/signout", "/ui/budgets/save", "/ui/keys/create", "/ui/keys/ui-x/cap", "/ui/keys/ui-x/models", "/ui/keys/ui-x/revoke",
        "/ui/keys/ui-x/bedtime", "/ui/keys/ui-x/wake", "/ui/ensembles/save", "/ui/ensembles/preview",
        "/ui/rate-limits/save", "/ui/rate-limits/anon-probe/delete",
    ];

    private static IFormData FormWith(IAPIRequestContext request, params (string Name, string Value)[] fields)
    {
        var data = request.CreateFormData();
        foreach (var (name, value) in fields)
        {
            data.Set(name, value);
        }

        return data;
    }

    private async Task<IPage> SignedInPageAsync()
    {
        var page = await _browser.NewPageAsync(_gateway.Gateway.BaseAddress);
        await page.GotoAsync("/ui/signin");
        await page.FillAsync("input[name=admin_key]", BudgetFixture.AdminSecret);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Overview");
        return page;
    }
}
