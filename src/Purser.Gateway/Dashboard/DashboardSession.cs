using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Purser.Gateway.Configuration;
using Purser.Keys;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Signing in with the master key and checking the session on every dashboard request. The session carries a
/// fingerprint of the configured master key hash, so rotating the key in the file ends every open session.
/// </summary>
internal static class DashboardSession
{
    private const string KeyClaim = "purser:admin_key";

    /// <summary>True and a session cookie set when <paramref name="secret"/> is the master key.</summary>
    public static async Task<bool> TrySignInAsync(HttpContext http, string? secret)
    {
        var expected = http.RequestServices.GetRequiredService<ConfigMonitor>().Current.Config.Server.AdminKeyHash;
        if (expected is null || string.IsNullOrEmpty(secret)
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(KeyHasher.Hash(secret)), Encoding.ASCII.GetBytes(expected)))
        {
            return false;
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "admin"), new Claim(KeyClaim, Fingerprint(expected))], DashboardSetup.Scheme);
        await http.SignInAsync(DashboardSetup.Scheme, new ClaimsPrincipal(identity)).ConfigureAwait(false);
        return true;
    }

    public static Task SignOutAsync(HttpContext http) => http.SignOutAsync(DashboardSetup.Scheme);

    /// <summary>
    /// The filter of every dashboard route but sign-in: without a valid session a page redirects to sign-in and
    /// anything else is refused with 401; a POST without a valid antiforgery token is refused with 400.
    /// </summary>
    public static async ValueTask<object?> RequireSessionAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var result = await http.AuthenticateAsync(DashboardSetup.Scheme).ConfigureAwait(false);
        var expected = http.RequestServices.GetRequiredService<ConfigMonitor>().Current.Config.Server.AdminKeyHash;
        if (!result.Succeeded || expected is null || result.Principal.FindFirst(KeyClaim)?.Value != Fingerprint(expected))
        {
            if (HttpMethods.IsGet(http.Request.Method) && !http.Request.Path.StartsWithSegments("/ui/events/feed", StringComparison.Ordinal))
            {
                var back = http.Request.Path + http.Request.QueryString;
                return Results.Redirect("/ui/signin?return=" + Uri.EscapeDataString(back));
            }

            return Results.Text("Sign in to the dashboard first.", "text/plain", statusCode: StatusCodes.Status401Unauthorized);
        }

        // Antiforgery tokens are bound to this identity, so it must be the request's user before any token is made.
        http.User = result.Principal;
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

    private static string Fingerprint(string adminKeyHash) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(adminKeyHash)).AsSpan(0, 8));
}
