using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Playwright;
using Purser.Gateway.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Purser.Gateway.Tests.Dashboard;

/// <summary>
/// The reservations page in a real browser: a key's live tree with spend per node, updated live as a sub-agent draws;
/// the admin API lists the same tree; the reservation events reach the event feed.
/// </summary>
public sealed class ReservationDashboardTests : IClassFixture<BudgetFixture>, IClassFixture<DashboardBrowser>
{
    private readonly BudgetFixture _gateway;
    private readonly DashboardBrowser _browser;

    public ReservationDashboardTests(BudgetFixture gateway, DashboardBrowser browser)
    {
        _gateway = gateway;
        _browser = browser;
    }

    [Fact]
    public async Task A_keys_live_tree_shows_spend_per_node_and_follows_the_draws()
    {
        var secret = await _gateway.CreateKeyAsync("ui-swarm");
        var root = await CreateAsync(secret, """{"amount_usd":"0.5","label":"plan"}""");
        var child = await CreateAsync(secret, $$"""{"amount_usd":"0.1","label":"sub-agent","parent":"{{root}}"}""");
        using (var call = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16), ("x-budget-reservation", child))))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        var spent = (await _gateway.UsageOfKeyAsync("ui-swarm")).Sum(r => r.Cost.NanoUsd);
        Assert.True(spent > 0);

        var page = await SignedInPageAsync();
        await page.GotoAsync("/ui/reservations?key_id=ui-swarm");
        var rootRow = page.Locator($"tr[data-reservation='{root}']");
        var childRow = page.Locator($"tr[data-reservation='{child}']");
        await Expect(rootRow).ToHaveAttributeAsync("data-depth", "0");
        await Expect(childRow).ToHaveAttributeAsync("data-depth", "1");
        await Expect(childRow).ToHaveAttributeAsync("data-spent", Usd(spent));
        await Expect(rootRow).ToHaveAttributeAsync("data-spent", Usd(spent));
        await Expect(childRow).ToContainTextAsync("sub-agent");
        await DashboardBrowser.ScreenshotAsync(page, "reservations");

        // A second draw while the page is open: the live feed shows the new spend without a reload.
        using (var call = await _gateway.Http.SendAsync(_gateway.Chat(secret, BudgetFixture.ChatBody(16), ("x-budget-reservation", child))))
        {
            Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        }

        var total = (await _gateway.UsageOfKeyAsync("ui-swarm")).Sum(r => r.Cost.NanoUsd);
        await Expect(childRow).ToHaveAttributeAsync("data-spent", Usd(total));

        using (var listed = await Admin("/admin/reservations?key_id=ui-swarm"))
        {
            var json = await BudgetFixture.ReadJsonAsync(listed);
            var tree = Assert.Single(json["data"]!.AsArray())!;
            Assert.Equal(root, tree["id"]!.GetValue<string>());
            Assert.Equal(Usd(total), tree["spent_usd"]!.GetValue<string>());
            Assert.Equal(child, tree["children"]![0]!["id"]!.GetValue<string>());
        }

        // Released: gone from the live page, and every reservation event is in the event feed.
        using (var release = await Send(HttpMethod.Delete, "/v1/budget/reservations/" + root, secret))
        {
            Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        }

        await Expect(rootRow).ToHaveCountAsync(0);
        await page.GotoAsync("/ui/events?scope=key:ui-swarm");
        await Expect(page.Locator("#event-feed tr[data-type='reservation.created']")).ToHaveCountAsync(2);
        await Expect(page.Locator("#event-feed tr[data-type='reservation.released']")).ToHaveCountAsync(2);
    }

    private static string Usd(long nano) => Purser.Pricing.Money.FromNano(nano).ToString();

    private async Task<string> CreateAsync(string secret, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/budget/reservations") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _gateway.Http.SendAsync(request);
        var json = await BudgetFixture.ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToJsonString());
        return json["id"]!.GetValue<string>();
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string secret)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return _gateway.Http.SendAsync(request);
    }

    private Task<HttpResponseMessage> Admin(string path) =>
        FixtureSupport.AdminAsync(_gateway.Http, BudgetFixture.AdminSecret, HttpMethod.Get, path, null);

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
