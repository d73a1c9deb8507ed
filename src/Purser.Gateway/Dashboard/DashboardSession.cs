using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Purser.Dashboard;
using Purser.Gateway.Configuration;
using Purser.Keys;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Signing in with the master key and checking the session on every dashboard request. The cookie holds
/// "expiry|fingerprint|nonce" sealed (encrypted and authenticated) with Data Protection: it cannot be read or forged
/// without the key ring, which is in the store, shared by every instance. The nonce names a row of the store's session
/// list: signing out deletes it, so every copy of the cookie is refused on every instance from then on. The fingerprint
/// is of the configured master key hash, so rotating the master key ends every open session (see
/// <see cref="SessionRotation"/>); the expiry slides while the operator is active. One store read per dashboard
/// request; the API never reads it.
/// </summary>
internal sealed class DashboardSession
{
    public const string CookieName = "purser_ui";

    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private readonly IDataProtector _protector;
    private readonly ConfigMonitor _config;
    private readonly IDashboardStore _store;
    private readonly TimeProvider _time;

    public DashboardSession(IDataProtectionProvider protection, ConfigMonitor config, IDashboardStore store, TimeProvider time)
    {
        _protector = protection.CreateProtector("Purser.Dashboard.Session.v1");
        _config = config;
        _store = store;
        _time = time;
    }

    /// <summary>True, a session opened in the store and its cookie set when <paramref name="secret"/> is the master key.</summary>
    public async Task<bool> TrySignInAsync(HttpContext http, string? secret)
    {
        var expected = _config.Current.Config.Server.AdminKeyHash;
        if (expected is null || string.IsNullOrEmpty(secret)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(KeyHasher.Hash(secret)), Encoding.ASCII.GetBytes(expected)))
        {
            return false;
        }

        var fingerprint = Fingerprint(expected);
        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var expires = _time.GetUtcNow() + Lifetime;

        // Signing in is rare: a good moment to clear the list of sessions that ended by themselves.
        await _store.EndSessionsAsync(fingerprint, _time.GetUtcNow(), http.RequestAborted).ConfigureAwait(false);
        await _store.AddSessionAsync(new DashboardSessionRecord(nonce, fingerprint, expires), http.RequestAborted).ConfigureAwait(false);
        Issue(http, fingerprint, nonce, expires);
        return true;
    }

    /// <summary>Ends the request's session in the store (every copy of its cookie, on every instance) and drops the cookie.</summary>
    public async Task SignOutAsync(HttpContext http)
    {
        if (Unseal(http) is [_, _, var nonce])
        {
            await _store.EndSessionAsync(nonce, http.RequestAborted).ConfigureAwait(false);
        }

        http.Response.Cookies.Delete(CookieName, Options(http));
    }

    /// <summary>The operator's identity when the request carries an open, unexpired session for the current master key.</summary>
    public async Task<ClaimsPrincipal?> ReadAsync(HttpContext http)
    {
        var expected = _config.Current.Config.Server.AdminKeyHash;
        var parts = expected is null ? null : Unseal(http);
        var now = _time.GetUtcNow();
        if (parts is not [var expiresText, var fingerprint, var nonce]
            || !long.TryParse(expiresText, NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || now.ToUnixTimeSeconds() >= expires || fingerprint != Fingerprint(expected!))
        {
            return null;
        }

        // The session list is the truth: a session signed out (on any instance) or ended by a key rotation is gone.
        var session = await _store.FindSessionAsync(nonce, http.RequestAborted).ConfigureAwait(false);
        if (session is null || session.Fingerprint != fingerprint || now >= session.ExpiresAt)
        {
            return null;
        }

        if (expires - now.ToUnixTimeSeconds() < Lifetime.TotalSeconds / 2)
        {
            var extended = now + Lifetime;
            if (!await _store.ExtendSessionAsync(nonce, extended, http.RequestAborted).ConfigureAwait(false))
            {
                return null;
            }

            Issue(http, fingerprint, nonce, extended);
        }

        // The nonce identifies the session to antiforgery, which binds every form token to it.
        return new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "admin:" + nonce)], "PurserDashboard"));
    }

    /// <summary>
    /// The filter of every dashboard route but sign-in: without a valid session a page redirects to sign-in and
    /// anything else is refused with 401; a POST without a valid antiforgery token is refused with 400.
    /// </summary>
    public static async ValueTask<object?> RequireSessionAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (await http.RequestServices.GetRequiredService<DashboardSession>().ReadAsync(http).ConfigureAwait(false) is not { } user)
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

    /// <summary>The fingerprint of a master key hash, as sessions record it.</summary>
    public static string Fingerprint(string adminKeyHash) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(adminKeyHash)).AsSpan(0, 8));

    /// <summary>The cookie's three fields, or null when there is none or it was forged, tampered with or sealed by another key ring.</summary>
    private string[]? Unseal(HttpContext http)
    {
        if (!http.Request.Cookies.TryGetValue(CookieName, out var sealedValue) || string.IsNullOrEmpty(sealedValue))
        {
            return null;
        }

        try
        {
            return _protector.Unprotect(sealedValue).Split('|');
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private void Issue(HttpContext http, string fingerprint, string nonce, DateTimeOffset expires)
    {
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
}
