using System.Net;
using System.Text.RegularExpressions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// The dashboard on two gateway processes sharing one PostgreSQL: a session opened on A opens pages and posts forms on B
/// (one Data Protection key ring, one session list), signing out on either ends it on both for every copy of the
/// cookie, and rotating the master key in A's file ends it on B too, whose file still has the old key.
/// </summary>
public sealed partial class DashboardSessionProcessTests : IAsyncLifetime
{
    private TwoGateways _gateways = null!;
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };

    public async Task InitializeAsync() => _gateways = await TwoGateways.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateways.DisposeAsync();
    }

    [Fact]
    public async Task A_session_opened_on_A_works_on_B_and_signing_out_on_A_refuses_every_copy_of_its_cookie_on_both()
    {
        var cookies = await SignInAsync(_gateways.A);
        var copied = new Dictionary<string, string>(cookies);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(_gateways.B, "/ui/keys", copied));

        var token = await FormTokenAsync(_gateways.A, cookies);
        Assert.Equal("/ui/signin", await PostAsync(_gateways.A, "/ui/signout", cookies, token));

        Assert.Equal(HttpStatusCode.Redirect, await GetAsync(_gateways.B, "/ui/keys", copied));
        Assert.Equal(HttpStatusCode.Redirect, await GetAsync(_gateways.A, "/ui/keys", copied));
    }

    [Fact]
    public async Task A_form_token_made_on_A_is_accepted_by_B_and_signing_out_on_B_ends_the_session_on_A()
    {
        var cookies = await SignInAsync(_gateways.A);
        var token = await FormTokenAsync(_gateways.A, cookies);

        // Antiforgery opens A's token with the shared key ring: 400 here would mean B has another key ring.
        Assert.Equal("/ui/signin", await PostAsync(_gateways.B, "/ui/signout", cookies, token));
        Assert.Equal(HttpStatusCode.Redirect, await GetAsync(_gateways.A, "/ui", cookies));
    }

    [Fact]
    public async Task Rotating_the_master_key_in_As_file_ends_the_old_keys_sessions_on_B_too()
    {
        var cookies = await SignInAsync(_gateways.A);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(_gateways.B, "/ui", cookies));

        await _gateways.RotateAdminKeyAsync(0, "purser-admin-rotated");
        await TwoGateways.WaitForLogAsync(_gateways.A, "dashboard sessions opened with another key were ended");

        // B's file still has the old key, so only the shared session list can refuse the session there.
        Assert.Equal(HttpStatusCode.Redirect, await GetAsync(_gateways.B, "/ui", cookies));
        Assert.Equal(HttpStatusCode.Redirect, await GetAsync(_gateways.A, "/ui", cookies));
    }

    /// <summary>Signs in through the form; returns the cookies the browser would then hold (session and antiforgery).</summary>
    private async Task<Dictionary<string, string>> SignInAsync(GatewayProcess gateway)
    {
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var page = await SendAsync(gateway, HttpMethod.Get, "/ui/signin", cookies, null))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var token = CsrfField().Match(await page.Content.ReadAsStringAsync()).Groups[1].Value;
            using var signIn = await SendAsync(gateway, HttpMethod.Post, "/ui/signin", cookies,
                new FormUrlEncodedContent([new("__csrf", token), new("return", "/ui"), new("admin_key", TwoGateways.AdminSecret)]));
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        }

        Assert.True(cookies.ContainsKey("purser_ui"), "no session cookie");
        return cookies;
    }

    private async Task<string> FormTokenAsync(GatewayProcess gateway, Dictionary<string, string> cookies)
    {
        using var page = await SendAsync(gateway, HttpMethod.Get, "/ui/keys", cookies, null);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return CsrfField().Match(await page.Content.ReadAsStringAsync()).Groups[1].Value;
    }

    private async Task<HttpStatusCode> GetAsync(GatewayProcess gateway, string path, Dictionary<string, string> cookies)
    {
        using var response = await SendAsync(gateway, HttpMethod.Get, path, cookies, null);
        return response.StatusCode;
    }

    /// <summary>Posts a form with its token; returns where the answer redirects (the status when it does not).</summary>
    private async Task<string> PostAsync(GatewayProcess gateway, string path, Dictionary<string, string> cookies, string token)
    {
        using var response = await SendAsync(gateway, HttpMethod.Post, path, cookies, new FormUrlEncodedContent([new("__csrf", token)]));
        return response.Headers.Location?.OriginalString ?? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>One request with the given cookies; the cookies it sets (or deletes) are applied to <paramref name="cookies"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(GatewayProcess gateway, HttpMethod method, string path, Dictionary<string, string> cookies, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, new Uri(gateway.BaseAddress, path)) { Content = content };
        if (cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => c.Key + "=" + c.Value)));
        }

        var response = await _http.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var set))
        {
            foreach (var header in set)
            {
                var pair = header.Split(';')[0];
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var (name, value) = (pair[..eq], pair[(eq + 1)..]);
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                {
                    cookies.Remove(name);
                }
                else
                {
                    cookies[name] = value;
                }
            }
        }

        return response;
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
