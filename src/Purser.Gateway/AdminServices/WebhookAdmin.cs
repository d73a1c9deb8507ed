using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Purser.Events.Webhooks;
using Purser.Gateway.Errors;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Registering and deleting webhook endpoints: the one place that does it. Nothing about them is held in memory (the
/// dispatcher reads the store at each pass), so a change needs no announcement: with PostgreSQL every instance reads the
/// same endpoints at its next pass (see docs/design.md, Webhooks).
/// </summary>
internal sealed class WebhookAdmin
{
    private readonly IWebhookStore _store;
    private readonly TimeProvider _time;

    public WebhookAdmin(IWebhookStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>Registers an endpoint from an admin body; the answer carries its secret, the only time it is shown.</summary>
    public async Task<(JsonObject? Endpoint, GatewayError? Error)> CreateAsync(JsonObject body, CancellationToken ct)
    {
        if (BudgetJson.Text(body, "url") is not { } urlText || !Uri.TryCreate(urlText, UriKind.Absolute, out var url)
            || url.Scheme is not ("http" or "https"))
        {
            return (null, BudgetJson.Invalid("url", "must be an absolute http:// or https:// URL"));
        }

        var types = new List<string>();
        if (body["events"] is { } eventsNode)
        {
            if (eventsNode is not JsonArray array)
            {
                return (null, BudgetJson.Invalid("events", "must be a list of event types such as \"bedtime.tripped\" (empty for every type)"));
            }

            foreach (var item in array)
            {
                if (item is not JsonValue v || !v.TryGetValue<string>(out var type) || type.Length == 0 || type.Contains(',', StringComparison.Ordinal))
                {
                    return (null, BudgetJson.Invalid("events", "must be a list of non-empty event type names"));
                }

                types.Add(type);
            }
        }

        var secret = BudgetJson.Text(body, "secret");
        if (body["secret"] is not null && (secret is null || secret.Length < 16))
        {
            return (null, BudgetJson.Invalid("secret", "must be a string of at least 16 characters (or omit it to have one generated)"));
        }

        secret ??= "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var endpoint = new WebhookEndpoint("wh_" + Guid.NewGuid().ToString("N")[..16], url, secret, types, _time.GetUtcNow());
        await _store.CreateEndpointAsync(endpoint, ct).ConfigureAwait(false);
        var json = Write(endpoint);

        // The only time the secret is shown: the receiver needs it to verify x-purser-signature.
        json["secret"] = secret;
        return (json, null);
    }

    /// <summary>Deletes an endpoint; 404 when there is none.</summary>
    public async Task<GatewayError?> DeleteAsync(string id, CancellationToken ct) =>
        await _store.DeleteEndpointAsync(id, ct).ConfigureAwait(false)
            ? null
            : AdminRefusal.NotFound($"No webhook endpoint '{id}'.", "id");

    internal static JsonObject Write(WebhookEndpoint endpoint)
    {
        var types = new JsonArray();
        foreach (var type in endpoint.EventTypes)
        {
            types.Add((JsonNode?)type);
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
