using Microsoft.AspNetCore.DataProtection;

namespace Purser.Gateway.Dashboard;

/// <summary>The services of the web dashboard at <c>/ui</c>: Razor components rendered on the server, a sealed session cookie, antiforgery.</summary>
internal static class DashboardSetup
{
    public const string CsrfField = "__csrf";

    public static void AddDashboard(this IServiceCollection services)
    {
        // Static server rendering only: no circuits, no WebAssembly, no JavaScript build.
        services.AddRazorComponents();

        // The session cookie is sealed with Data Protection. ASP.NET Core's authentication services are deliberately not
        // registered: with one scheme they would become the default and run on every API request.
        services.AddDataProtection();
        services.AddSingleton<DashboardSession>();
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
