using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Admin;

/// <summary>
/// <c>/admin/bedtime</c>: Bedtime Mode policies per key or team (the config file's are read-only here), their state
/// tonight, and waking a tripped scope.
/// </summary>
internal static class BedtimeAdminEndpoints
{
    public static RouteGroupBuilder MapBedtimeEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/bedtime", List);
        admin.MapPut("/bedtime/{scope}", PutAsync);
        admin.MapDelete("/bedtime/{scope}", DeleteAsync);
        admin.MapPost("/bedtime/{scope}/wake", Wake);
        return admin;
    }

    private static IResult List(BedtimeGuard bedtime, ConfigMonitor config, TimeProvider time)
    {
        var list = new JsonArray();
        foreach (var policy in bedtime.Current.OrderBy(p => p.Scope.ToString(), StringComparer.Ordinal))
        {
            list.Add((JsonNode?)BedtimeJson.Write(policy, bedtime, time.GetUtcNow()));
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> PutAsync(string scope, HttpContext http, ConfigMonitor config, BedtimeAdmin policies)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var (saved, refused) = await policies.PutAsync(scope, body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new AdminEndpoints.ErrorResult(no) : new AdminEndpoints.JsonResult(saved!);
    }

    private static async Task<IResult> DeleteAsync(string scope, HttpContext http, BedtimeAdmin policies) =>
        await policies.DeleteAsync(scope, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new AdminEndpoints.ErrorResult(refused)
            : new AdminEndpoints.JsonResult(new JsonObject { ["scope"] = scope, ["deleted"] = true });

    private static IResult Wake(string scope, BedtimeGuard bedtime, TimeProvider time)
    {
        if (bedtime.Wake(scope) is not { } wasTripped)
        {
            return new AdminEndpoints.ErrorResult(AdminRefusal.NotFound($"'{scope}' has no bedtime policy.", "scope"));
        }

        var json = BedtimeJson.Write(bedtime.Watch(scope)!.Policy, bedtime, time.GetUtcNow());
        json["was_tripped"] = wasTripped;
        return new AdminEndpoints.JsonResult(json);
    }
}
