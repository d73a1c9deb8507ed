namespace Purser.Events.Webhooks;

/// <summary>Webhook endpoints and their durable delivery queue.</summary>
public interface IWebhookStore
{
    Task<IReadOnlyList<WebhookEndpoint>> ListEndpointsAsync(CancellationToken ct);

    Task CreateEndpointAsync(WebhookEndpoint endpoint, CancellationToken ct);

    Task<bool> DeleteEndpointAsync(string id, CancellationToken ct);

    /// <summary>
    /// Turns events appended since the last call into deliveries for every endpoint that wants them (an endpoint gets the
    /// events recorded after it was created), and moves the cursor, in one transaction. Returns how many were queued.
    /// </summary>
    Task<int> FanOutAsync(Func<GatewayEvent, string> body, DateTimeOffset now, int batch, CancellationToken ct);

    /// <summary>Pending deliveries due at <paramref name="now"/>, oldest first.</summary>
    Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct);

    /// <summary>When the next pending delivery is due; null when none is pending.</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken ct);

    Task RecordAttemptAsync(string deliveryId, WebhookDeliveryState state, int attempts, DateTimeOffset nextAttemptAt, int? status, string? error, CancellationToken ct);

    Task<IReadOnlyList<WebhookDelivery>> DeliveriesAsync(string endpointId, int limit, CancellationToken ct);
}
