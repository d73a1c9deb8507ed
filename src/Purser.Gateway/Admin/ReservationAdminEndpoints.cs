using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Budgets.Reservations;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Budgets;

namespace Purser.Gateway.Admin;

/// <summary>
/// <c>GET /admin/reservations?key_id=&amp;live=true|false&amp;limit=</c>: reservation trees, newest first (live ones by
/// default), each with its children and spend per node.
/// </summary>
internal static class ReservationAdminEndpoints
{
    public static RouteGroupBuilder MapReservationEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/reservations", ListAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IReservationLedger ledger)
    {
        var q = http.Request.Query;
        var limit = 100;
        if (q.TryGetValue("limit", out var limitText) && (!int.TryParse(limitText, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > 1_000))
        {
            return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("limit", "must be a whole number from 1 to 1000"));
        }

        var live = true;
        if (q.TryGetValue("live", out var liveText) && !bool.TryParse(liveText, out live))
        {
            return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("live", "must be true or false"));
        }

        string? keyId = q["key_id"];
        var list = new JsonArray();
        foreach (var tree in await ledger.ListReservationsAsync(string.IsNullOrEmpty(keyId) ? null : keyId, live, limit, http.RequestAborted).ConfigureAwait(false))
        {
            var json = ReservationJson.Write(tree);
            json["key_id"] = tree.KeyId;
            list.Add((JsonNode?)json);
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }
}
