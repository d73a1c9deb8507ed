using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.HttpResults;
using Purser.Admin;
using Purser.Gateway.Admin;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Bedtime;
using Purser.Usage;
using Purser.Gateway.Dashboard.Pages;
using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// The web dashboard at <c>/ui</c>: pages rendered on the server as Razor components, forms posted to handlers that
/// call the admin API's own functions (no HTTP to itself), then redirect back to the page (post/redirect/get) — except
/// key creation, whose answer is the only page that ever shows the secret.
/// </summary>
internal static class DashboardEndpoints
{
    // No inline script or style anywhere: the only script is /ui/dashboard.js, bars and charts are SVG attributes.
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/ui/signin", (HttpContext http, string? @return) => Page<SignInPage>(http, new() { ["Return"] = @return }));
        routes.MapPost("/ui/signin", (Delegate)SignInAsync);
        routes.MapGet("/ui/dashboard.css", () => Results.Text(DashboardAssets.Css, "text/css; charset=utf-8"));
        routes.MapGet("/ui/dashboard.js", () => Results.Text(DashboardAssets.Script, "text/javascript; charset=utf-8"));

        var ui = routes.MapGroup("/ui").AddEndpointFilter(DashboardSession.RequireSessionAsync);
        ui.MapPost("/signout", SignOutAsync);
        ui.MapGet("", (HttpContext http, string? group, string? range) => Page<OverviewPage>(http, new() { ["Group"] = group, ["Range"] = range }));
        ui.MapGet("/budgets", (HttpContext http, string? ok) => Page<BudgetsPage>(http, new() { ["Message"] = ok }));
        ui.MapPost("/budgets/save", SaveBudgetAsync);
        ui.MapGet("/keys", (HttpContext http, string? ok) => Page<KeysPage>(http, new() { ["Message"] = ok }));
        ui.MapPost("/keys/create", CreateKeyAsync);
        ui.MapPost("/keys/{id}/cap", SetCapAsync);
        ui.MapPost("/keys/{id}/models", SetModelsAsync);
        ui.MapPost("/keys/{id}/revoke", RevokeAsync);
        ui.MapPost("/keys/{id}/bedtime", SetBedtimeAsync);
        ui.MapPost("/keys/{id}/wake", (string id, HttpContext http, BedtimeGuard bedtime) => bedtime.Wake("key:" + id) is null
            ? Page<KeysPage>(http, new() { ["Error"] = $"'{id}' has no bedtime policy." }, 404)
            : Results.Redirect("/ui/keys?ok=" + Uri.EscapeDataString($"Woke {id}.")));
        ui.MapGet("/ensembles", (HttpContext http, string? alias, string? ok) => Page<EnsemblesPage>(http, new() { ["Alias"] = alias, ["Message"] = ok }));
        ui.MapPost("/ensembles/save", SaveEnsembleAsync);
        ui.MapPost("/ensembles/preview", (Delegate)PreviewEnsembleAsync);
        ui.MapGet("/rate-limits", (HttpContext http, string? ok) => Page<RateLimitsPage>(http, new() { ["Message"] = ok }));
        ui.MapPost("/rate-limits/save", SaveRateLimitAsync);
        ui.MapPost("/rate-limits/{id}/delete", async (string id, HttpContext http, RateLimitAdmin limits) =>
            await limits.DeleteAsync(id, http.RequestAborted).ConfigureAwait(false) is { } refused
                ? Page<RateLimitsPage>(http, new() { ["Error"] = refused.Message }, ErrorTable.StatusOf(refused))
                : Done("/ui/rate-limits", $"Deleted rate limit {id}."));
        ui.MapGet("/events", (HttpContext http, string? type, string? scope) => Page<EventsPage>(http, new() { ["Type"] = type, ["Scope"] = scope }));
        ui.MapGet("/events/feed", (string? type, string? scope) => Fragment<EventRows>(new() { ["Type"] = type, ["Scope"] = scope }));
        ui.MapGet("/reservations", (HttpContext http, string? key_id) => Page<ReservationsPage>(http, new() { ["KeyId"] = key_id }));
        ui.MapGet("/reservations/feed", (string? key_id) => Fragment<ReservationTrees>(new() { ["KeyId"] = key_id }));
        ui.MapGet("/usage", (HttpContext http, string? key_id, string? model, string? from, string? to) =>
            Page<UsagePage>(http, new() { ["KeyId"] = key_id, ["Model"] = model, ["From"] = from, ["To"] = to }));
        ui.MapGet("/usage.csv", ExportUsageAsync);
        return routes;
    }

    // The component type parameters keep every member of the component for the trimmer (its [Parameter] properties
    // are set by reflection), as RazorComponentResult<T> asks. Both return the non-generic RazorComponentResult so
    // that no endpoint's signature names a component: the native build's request delegate generator cannot see
    // the types the Razor generator writes.
    private static RazorComponentResult Page<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] T>(HttpContext http, Dictionary<string, object?> parameters, int status = 200)
        where T : IComponent
    {
        parameters["Csrf"] = DashboardSession.Csrf(http);
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers.ContentSecurityPolicy = Csp;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return new RazorComponentResult<T>(parameters) { StatusCode = status };
    }

    /// <summary>A part of a page (no session headers): the events and reservations feeds, the ensemble preview.</summary>
    private static RazorComponentResult Fragment<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] T>(Dictionary<string, object?> parameters)
        where T : IComponent => new RazorComponentResult<T>(parameters);

    private static IResult Done(string page, string message) => Results.Redirect(page + "?ok=" + Uri.EscapeDataString(message));

    private static async Task<IResult> SignOutAsync(HttpContext http, DashboardSession session)
    {
        await session.SignOutAsync(http).ConfigureAwait(false);
        return Results.Redirect("/ui/signin");
    }

    private static async Task<IResult> SignInAsync(HttpContext http)
    {
        if (!await DashboardSession.IsValidPostAsync(http).ConfigureAwait(false))
        {
            return Results.Text("The form has expired; reload the sign-in page.", "text/plain", statusCode: StatusCodes.Status400BadRequest);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var back = DashboardForms.Text(form, "return");
        if (!await http.RequestServices.GetRequiredService<DashboardSession>().TrySignInAsync(http, DashboardForms.Text(form, "admin_key")).ConfigureAwait(false))
        {
            return Page<SignInPage>(http, new() { ["Return"] = back, ["Error"] = "That is not the admin key (or the admin API is disabled: set server.admin_key_hash)." }, 401);
        }

        return Results.Redirect(ReturnPath.Safe(back));
    }

    private static async Task<IResult> SaveBudgetAsync(HttpContext http, BudgetAdmin budgets)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var id = DashboardForms.Text(form, "id") ?? "";
        var (_, error) = await budgets.PutAsync(id, DashboardForms.Budget(form, DashboardForms.Text(form, "scope") ?? ""), http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<BudgetsPage>(http, new() { ["Error"] = bad.Message }, 400)
            : Done("/ui/budgets", $"Saved budget {id}.");
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext http, KeyAdmin keys)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var body = new System.Text.Json.Nodes.JsonObject { ["id"] = DashboardForms.Text(form, "id"), ["team"] = DashboardForms.Text(form, "team") };
        if (DashboardForms.Text(form, "models") is { } models)
        {
            body["models"] = DashboardForms.List(models);
        }

        var (key, error) = await keys.CreateAsync(body, http.RequestAborted).ConfigureAwait(false);
        if (error is { } bad)
        {
            return Page<KeysPage>(http, new() { ["Error"] = bad.Message }, ErrorTable.StatusOf(bad));
        }

        // Rendered here rather than redirected: this response is the only place the secret ever appears.
        return Page<KeysPage>(http, new() { ["NewKeyId"] = key!["id"]!.GetValue<string>(), ["NewSecret"] = key["secret"]!.GetValue<string>() });
    }

    private static async Task<IResult> SetCapAsync(string id, HttpContext http, BudgetAdmin budgets, ConfigMonitor config, TimeProvider time)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var budgetId = DashboardForms.Text(form, "budget") ?? KeyBudgets.NewCapId(id);
        var body = DashboardForms.Budget(form, "key:" + id);

        // The operator picks which of the key's budgets to edit: an existing one of this key, or the key's new cap.
        if (config.Current.Budgets.TryGetValue(budgetId, out var existing))
        {
            if (existing.Scope != new ScopeRef(ScopeKind.Key, id))
            {
                return Page<KeysPage>(http, new() { ["Error"] = $"The budget '{budgetId}' is not a budget of the key '{id}'." }, 400);
            }

            // The form edits the cap and window; the budget's alert thresholds and degrade options are kept.
            var current = BudgetJson.Write(existing, "api", BudgetWindows.Current(existing.Window, BudgetAdmission.ZoneOf(existing), time.GetUtcNow()), CounterState.Empty);
            body["alert_thresholds"] = current["alert_thresholds"]?.DeepClone();
            if (current["degrade"] is { } degrade)
            {
                body["degrade"] = degrade.DeepClone();
            }
        }
        else if (budgetId != KeyBudgets.NewCapId(id))
        {
            return Page<KeysPage>(http, new() { ["Error"] = $"The key '{id}' has no budget '{budgetId}'." }, 400);
        }

        var (_, error) = await budgets.PutAsync(budgetId, body, http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<KeysPage>(http, new() { ["Error"] = bad.Message }, 400)
            : Done("/ui/keys", $"Set the cap of {id} (budget {budgetId}).");
    }

    private static async Task<IResult> SetModelsAsync(string id, HttpContext http, KeyAdmin keys)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var body = new System.Text.Json.Nodes.JsonObject { ["models"] = DashboardForms.List(DashboardForms.Text(form, "models")) };
        var (_, error) = await keys.UpdateAsync(id, body, http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<KeysPage>(http, new() { ["Error"] = bad.Message }, ErrorTable.StatusOf(bad))
            : Done("/ui/keys", $"Set the models of {id}.");
    }

    private static async Task<IResult> RevokeAsync(string id, HttpContext http, KeyAdmin keys)
    {
        return await keys.RevokeAsync(id, http.RequestAborted).ConfigureAwait(false) is { } bad
            ? Page<KeysPage>(http, new() { ["Error"] = bad.Message }, ErrorTable.StatusOf(bad))
            : Done("/ui/keys", $"Revoked {id}.");
    }

    private static async Task<IResult> SetBedtimeAsync(string id, HttpContext http, BedtimeAdmin policies)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var body = new System.Text.Json.Nodes.JsonObject { ["enabled"] = form["enabled"].ToString() == "on" };
        foreach (var name in (string[])["timezone", "hours", "floor_usd", "degrade_model"])
        {
            if (DashboardForms.Text(form, name) is { } value)
            {
                body[name] = value;
            }
        }

        foreach (var name in (string[])["baseline_days", "multiplier"])
        {
            if (DashboardForms.Text(form, name) is { } value)
            {
                body[name] = DashboardForms.Number(value);
            }
        }

        var (_, error) = await policies.PutAsync("key:" + id, body, http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<KeysPage>(http, new() { ["Error"] = bad.Message }, ErrorTable.StatusOf(bad))
            : Done("/ui/keys", $"Saved the bedtime policy of {id}.");
    }

    private static async Task<IResult> SaveEnsembleAsync(HttpContext http, AliasAdmin aliases)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var alias = DashboardForms.Text(form, "alias") ?? "";
        var (_, error) = await aliases.PutAsync(AliasKind.Ensemble, alias, DashboardForms.Ensemble(form), http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<EnsemblesPage>(http, new() { ["Alias"] = alias, ["Error"] = bad.Message, ["Posted"] = DashboardForms.Fields(form) }, ErrorTable.StatusOf(bad))
            : Results.Redirect("/ui/ensembles?alias=" + Uri.EscapeDataString(alias) + "&ok=" + Uri.EscapeDataString($"Saved ensemble {alias}."));
    }

    private static async Task<IResult> SaveRateLimitAsync(HttpContext http, RateLimitAdmin limits)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        var id = DashboardForms.Text(form, "id") ?? "";
        var (_, error) = await limits.PutAsync(id, DashboardForms.RateLimit(form), http.RequestAborted).ConfigureAwait(false);
        return error is { } bad
            ? Page<RateLimitsPage>(http, new() { ["Error"] = bad.Message }, ErrorTable.StatusOf(bad))
            : Done("/ui/rate-limits", $"Saved rate limit {id}.");
    }

    private static async Task<IResult> PreviewEnsembleAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
        return Fragment<ProjectionView>(new() { ["Posted"] = DashboardForms.Fields(form) });
    }

    private static async Task ExportUsageAsync(HttpContext http, IUsageExport export)
    {
        if (AdminEndpoints.ReadUsageQuery(http.Request.Query, out var query) is { } bad)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsync(bad.Message, http.RequestAborted).ConfigureAwait(false);
            return;
        }

        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = "attachment; filename=\"purser-usage.csv\"";
        await export.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        var writer = new StreamWriter(http.Response.Body, new UTF8Encoding(false));
        await using (writer.ConfigureAwait(false))
        {
            await export.WriteCsvAsync(query, writer, http.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>Today's date in the invariant format the filters use.</summary>
    public static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
