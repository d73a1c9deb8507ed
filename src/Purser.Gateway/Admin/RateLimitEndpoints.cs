using System.Text.Json.Nodes;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Configuration;

namespace Purser.Gateway.Admin;

/// <summary>
/// Rate limits under <c>/admin/rate-limits</c>: the body of a PUT is the config file's rate_limits entry as JSON, checked
/// by the file's own parser; a wrong type, a duplicate key, a lone surrogate or an out-of-range number is a 400 that
/// names the field.
/// </summary>
internal static class RateLimitEndpoints
{
    public static void MapRateLimitEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/rate-limits", (RateLimitAdmin limits) => new AdminEndpoints.JsonResult(new JsonObject { ["data"] = limits.List() }));
        admin.MapPut("/rate-limits/{id}", PutAsync);
        admin.MapDelete("/rate-limits/{id}", DeleteAsync);
    }

    private static async Task<IResult> PutAsync(string id, HttpContext http, ConfigMonitor config, RateLimitAdmin limits)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var (saved, refused) = await limits.PutAsync(id, body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new AdminEndpoints.ErrorResult(no) : new AdminEndpoints.JsonResult(saved!);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, RateLimitAdmin limits) =>
        await limits.DeleteAsync(id, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new AdminEndpoints.ErrorResult(refused)
            : new AdminEndpoints.JsonResult(new JsonObject { ["id"] = id, ["deleted"] = true });
}
