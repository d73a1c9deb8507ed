using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Purser.Gateway.Configuration;
using Purser.Keys;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Signing in with the master key and checking the session on every dashboard request. The cookie holds
/// "expiry|fingerprint|nonce" sealed (encrypted and authenticated) with Data Protection: it cannot be read or forged
/// without the gateway's key ring. The fingerprint is of the configured master key hash, so rotating the master key
/// ends every open session; the expiry slides while the operator is active.
/// </summary>
internal sealed class DashboardSession
{
    public const string CookieName = "purser_ui";

    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private readonly IDataProtector _protector;
    private readonly ConfigMonitor _config;
    private readonly TimeProvider _time;

    public DashboardSession(IDataProtectionProvider protection, ConfigMonitor config, TimeProvider time)
    {
        _protector = protection.CreateProtector("Purser.Dashboard.Session.v1");
        _config = config;
        _time = time;
    }

    /// <summary>True and a session cookie set when <paramref name="secret"/> is the master key.</summary>
    public bool TrySignIn(HttpContext http, string? secret)
    {
        var expected = _config.Current.Config.Server.AdminKeyHash;
        if (expected is null || string.IsNullOrEmpty(secret)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(KeyHasher.Hash(secret)), Encoding.ASCII.GetBytes(expected)))
        {
            return false;
        }

        Issue(http, Fingerprint(expected), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        return true;
    }

    public static void SignOut(HttpContext http) => http.Response.Cookies.Delete(CookieName, Options(http));

    /// <summary>The operator's identity when the request carries a valid, unexpired session for the current master key.</summary>
    public ClaimsPrincipal? Read(HttpContext http)
    {
        var expected = _config.Current.Config.Server.AdminKeyHash;
        if (expected is null || !http.Request.Cookies.TryGetValue(CookieName, out var sealedValue) || string.IsNullOrEmpty(sealedValue))
        {
            return null;
        }

        string payload;
        try
        {
            payload = _protector.Unprotect(sealedValue);
        }
        catch (CryptographicException)
        {
            // Forged, tampered with, or sealed by a key ring this gateway no longer has.
            return null;
        }

        var parts = payload.Split('|');
        var now = _time.GetUtcNow();
        if (parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || now.ToUnixTimeSeconds() >= expires || parts[1] != Fingerprint(expected))
        {
            return null;
        }

        if (expires - now.ToUnixTimeSeconds() < Lifetime.TotalSeconds / 2)
        {
            Issue(http, parts[1], parts[2]);
        }

        // The nonce identifies the session to antiforgery, which binds every form token to it.
        return new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "admin:" + parts[2])], "PurserDashboard"));
    }

    /// <summary>
    /// The filter of every dashboard route but sign-in: without a valid session a page redirects to sign-in and
    /// anything else is refused with 401; a POST without a valid antiforgery token is refused with 400.
    /// </summary>
    public static async ValueTask<object?> RequireSessionAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (http.RequestServices.GetRequiredService<DashboardSession>().Read(http) is not { } user)
        {
            if (HttpMethods.IsGet(http.Request.Method) && !http.Request.Path.StartsWithSegments("/ui/events/feed", StringComparison.Ordinal))
            {
                var back = http.Request.Path + http.Request.QueryString;
                return Results.Redirect("/ui/signin?return=" + Uri.EscapeDataString(back));
            }

            return Results.Text("Sign in to the dashboard first.", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
        }

        // Antiforgery tokens are bound to this identity, so it must be the request's user before any token is made.
        http.User = user;
        if (HttpMethods.IsPost(http.Request.Method) && !await IsValidPostAsync(http).ConfigureAwait(false))
        {
            return Results.Text("The form has expired or did not come from this dashboard; reload the page.", "text/plain", statusCode: StatusCodes.Status400BadRequest);
        }

        return await next(context).ConfigureAwait(false);
    }

    public static async Task<bool> IsValidPostAsync(HttpContext http) =>
        await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http).ConfigureAwait(false);

    /// <summary>The token the page's forms carry; also sets the matching antiforgery cookie.</summary>
    public static string Csrf(HttpContext http) => http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http).RequestToken!;

    private void Issue(HttpContext http, string fingerprint, string nonce)
    {
        var expires = _time.GetUtcNow() + Lifetime;
        var payload = string.Create(CultureInfo.InvariantCulture, $"{expires.ToUnixTimeSeconds()}|{fingerprint}|{nonce}");
        var options = Options(http);
        options.MaxAge = Lifetime;
        http.Response.Cookies.Append(CookieName, _protector.Protect(payload), options);
    }

    // HttpOnly: no script reads it. Strict: no other site makes the browser send it. /ui: the API never sees it.
    private static CookieOptions Options(HttpContext http) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/ui",
        IsEssential = true,
    };

    private static string Fingerprint(string adminKeyHash) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(adminKeyHash)).AsSpan(0, 8));
}
