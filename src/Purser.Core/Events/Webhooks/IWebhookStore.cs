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

    /// <summary>
    /// How long a claimed delivery stays out of every other caller's <see cref="DueAsync"/>: long enough for a dispatcher
    /// to attempt a whole claimed batch (100 deliveries at a 10 s timeout each is under 17 minutes), short enough that an
    /// instance that dies holding a claim delays those deliveries by at most this, not forever.
    /// </summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Claims the pending deliveries due at <paramref name="now"/>, oldest first: each is made due again only at
    /// <paramref name="now"/> + <see cref="ClaimLease"/> (until <see cref="RecordAttemptAsync"/> reschedules it), so
    /// concurrent callers, on this instance or another, never get the same delivery. Returned as they were when claimed.
    /// </summary>
    Task<IReadOnlyList<WebhookDelivery>> DueAsync(DateTimeOffset now, int limit, CancellationToken ct);

    /// <summary>When the next pending delivery is due; null when none is pending.</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken ct);

    Task RecordAttemptAsync(string deliveryId, WebhookDeliveryState state, int attempts, DateTimeOffset nextAttemptAt, int? status, string? error, CancellationToken ct);

    Task<IReadOnlyList<WebhookDelivery>> DeliveriesAsync(string endpointId, int limit, CancellationToken ct);
}
