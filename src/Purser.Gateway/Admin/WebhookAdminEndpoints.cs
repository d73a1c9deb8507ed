using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Purser.Events.Webhooks;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;

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
            list.Add(Write(endpoint));
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["data"] = list });
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ConfigMonitor config, IWebhookStore store, TimeProvider time)
    {
        var (body, error) = await AdminEndpoints.ReadAsync(http, config).ConfigureAwait(false);
        if (error is { } bad)
        {
            return new AdminEndpoints.ErrorResult(bad);
        }

        if (BudgetJson.Text(body!, "url") is not { } urlText || !Uri.TryCreate(urlText, UriKind.Absolute, out var url)
            || url.Scheme is not ("http" or "https"))
        {
            return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("url", "must be an absolute http:// or https:// URL"));
        }

        var types = new List<string>();
        if (body!["events"] is { } eventsNode)
        {
            if (eventsNode is not JsonArray array)
            {
                return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("events", "must be a list of event types such as \"bedtime.tripped\" (empty for every type)"));
            }

            foreach (var item in array)
            {
                if (item is not JsonValue v || !v.TryGetValue<string>(out var type) || type.Length == 0 || type.Contains(',', StringComparison.Ordinal))
                {
                    return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("events", "must be a list of non-empty event type names"));
                }

                types.Add(type);
            }
        }

        var secret = BudgetJson.Text(body, "secret");
        if (body["secret"] is not null && (secret is null || secret.Length < 16))
        {
            return new AdminEndpoints.ErrorResult(BudgetJson.Invalid("secret", "must be a string of at least 16 characters (or omit it to have one generated)"));
        }

        secret ??= "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var endpoint = new WebhookEndpoint("wh_" + Guid.NewGuid().ToString("N")[..16], url, secret, types, time.GetUtcNow());
        await store.CreateEndpointAsync(endpoint, http.RequestAborted).ConfigureAwait(false);
        var json = Write(endpoint);

        // The only time the secret is shown: the receiver needs it to verify x-purser-signature.
        json["secret"] = secret;
        return new AdminEndpoints.JsonResult(json, 201);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, IWebhookStore store)
    {
        if (!await store.DeleteEndpointAsync(id, http.RequestAborted).ConfigureAwait(false))
        {
            return new AdminEndpoints.ErrorResult(new GatewayError(GatewayErrorCode.InvalidRequest, $"No webhook endpoint '{id}'.", "id") { StatusOverride = 404 });
        }

        return new AdminEndpoints.JsonResult(new JsonObject { ["id"] = id, ["deleted"] = true });
    }

    private static async Task<IResult> DeliveriesAsync(string id, HttpContext http, IWebhookStore store)
    {
        var list = new JsonArray();
        foreach (var d in await store.DeliveriesAsync(id, 1000, http.RequestAborted).ConfigureAwait(false))
        {
            list.Add(new JsonObject
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

    private static JsonObject Write(WebhookEndpoint endpoint)
    {
        var types = new JsonArray();
        foreach (var type in endpoint.EventTypes)
        {
            types.Add(type);
        }

        return new JsonObject
        {
            ["id"] = endpoint.Id,
            ["url"] = endpoint.Url.AbsoluteUri,
            ["events"] = types,
            ["created_at"] = endpoint.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        };
    }
}
