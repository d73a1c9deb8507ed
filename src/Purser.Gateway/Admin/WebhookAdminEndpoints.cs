using System.Globalization;
using System.Text.Json.Nodes;
using Purser.Events.Webhooks;
using Purser.Gateway.AdminServices;
using Purser.Gateway.Configuration;

namespace Purser.Gateway.Admin;

/// <summary><c>/admin/webhooks</c>: register endpoints per event type, list and delete them, see their deliveries.</summary>
internal static class WebhookAdminEndpoints
{
    public static RouteGroupBuilder MapWebhookEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/webhooks", ListAsync);
        admin.MapPost("/webhooks", CreateAsync);
        admin.MapDelete("/webhooks/{id}", DeleteAsync);
        admin.MapGet("/webhooks/{id}/deliveries", DeliveriesAsync);
        return admin;
    }

    private static async Task<IResult> ListAsync(HttpContext http, IWebhookStore store)
    {
        var list = new JsonArray();
        foreach (var endpoint in await store.ListEndpointsAsync(http.RequestAborted).ConfigureAwait(false))
        {
            list.Add((JsonNode?)WebhookAdmin.Write(endpoint));
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ConfigMonitor config, WebhookAdmin webhooks)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        var (created, refused) = await webhooks.CreateAsync(body!, http.RequestAborted).ConfigureAwait(false);
        return refused is { } no ? new AdminEndpoints.ErrorResult(no) : new AdminEndpoints.JsonResult(created!, 201);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, WebhookAdmin webhooks) =>
        await webhooks.DeleteAsync(id, http.RequestAborted).ConfigureAwait(false) is { } refused
            ? new AdminEndpoints.ErrorResult(refused)
            : new AdminEndpoints.JsonResult(new JsonObject { ["id"] = id, ["deleted"] = true });

    private static async Task<IResult> DeliveriesAsync(string id, HttpContext http, IWebhookStore store)
    {
        var list = new JsonArray();
        foreach (var d in await store.DeliveriesAsync(id, 1000, http.RequestAborted).ConfigureAwait(false))
        {
            list.Add((JsonNode?)new JsonObject
            {
                ["id"] = d.Id,
                ["event_id"] = d.EventId,
                ["event_type"] = d.EventType,
                ["state"] = d.State.ToString().ToLowerInvariant(),
                ["attempts"] = d.Attempts,
                ["next_attempt_at"] = d.NextAttemptAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["last_status"] = d.LastStatus,
                ["last_error"] = d.LastError,
            });
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }
}
