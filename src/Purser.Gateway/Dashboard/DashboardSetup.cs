using Microsoft.AspNetCore.Authentication.Cookies;

namespace Purser.Gateway.Dashboard;

/// <summary>The services of the web dashboard at <c>/ui</c>: Razor components rendered on the server, a cookie session, antiforgery.</summary>
internal static class DashboardSetup
{
    public const string Scheme = "PurserDashboard";

    public const string CsrfField = "__csrf";

    public static void AddDashboard(this IServiceCollection services)
    {
        // Static server rendering only: no circuits, no WebAssembly, no JavaScript build.
        services.AddRazorComponents();

        // The session is ASP.NET Core's cookie ticket, encrypted and signed with Data Protection. Scoped to /ui so the
        // API never sees it, Strict so no other site can make the browser send it, Secure whenever the page is HTTPS.
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "purser_ui";
            o.Cookie.Path = "/ui";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = "/ui/signin";
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme).Configure<TimeProvider>((o, time) => o.TimeProvider = time);
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "purser_ui_csrf";
            o.Cookie.Path = "/ui";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = CsrfField;
            o.HeaderName = "X-CSRF";
        });
    }
}
