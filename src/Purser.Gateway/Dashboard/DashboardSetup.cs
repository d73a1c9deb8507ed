using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Purser.Dashboard;

namespace Purser.Gateway.Dashboard;

/// <summary>The services of the web dashboard at <c>/ui</c>: Razor components rendered on the server, a sealed session cookie, antiforgery.</summary>
internal static class DashboardSetup
{
    public const string CsrfField = "__csrf";

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Static server rendering only (no circuits, no interactive render modes, no persisted component state): the components are created and their parameters set through RazorComponentResult<T>, whose type argument keeps every member of each page (DashboardEndpoints), and the native binary's smoke test renders the sign-in page and a signed-in page.")]
    public static void AddDashboard(this IServiceCollection services)
    {
        // Static server rendering only: no circuits, no WebAssembly, no JavaScript build.
        services.AddRazorComponents();

        // The session cookie is sealed with Data Protection. ASP.NET Core's authentication services are deliberately not
        // registered: with one scheme they would become the default and run on every API request.
        // Its key ring is in the store (the shared PostgreSQL database when there is one), under one application name
        // whatever the instance's directory, so a cookie or form token sealed on one instance opens on every other.
        services.AddDataProtection().SetApplicationName("purser");
        services.AddOptions<KeyManagementOptions>().Configure<IDashboardStore>((options, store) => options.XmlRepository = new DashboardKeyRing(store));
        services.AddSingleton<DashboardSession>();
        services.AddHostedService<SessionRotation>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "purser_ui_csrf";
            o.Cookie.Path = "/ui";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = CsrfField;
            o.HeaderName = "X-CSRF";
        });

        DeferKeyRingLoad(services);
    }

    /// <summary>
    /// Drops Data Protection's start-up service, whose only work is to read the key ring before the first request
    /// (System.Private.Xml, XDocument, OpenSSL, the key files: ~9 MiB of resident pages in every gateway, dashboard used
    /// or not).
    /// The key ring then loads on its first use — the dashboard's first sign-in or session check — from the same
    /// repository with the same keys and the same rotation, so nothing about the seal changes; only when it is read.
    /// </summary>
    private static void DeferKeyRingLoad(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var descriptor = services[i];
            if (descriptor.ServiceType == typeof(IHostedService)
                && descriptor.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService")
            {
                services.RemoveAt(i);
            }
        }
    }
}
