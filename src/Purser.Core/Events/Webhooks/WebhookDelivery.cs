namespace Purser.Events.Webhooks;

public enum WebhookDeliveryState
{
    Pending = 0,
    Delivered = 1,

    /// <summary>Every attempt failed; kept for the operator to see.</summary>
    Failed = 2,
}

/// <summary>One event for one endpoint: the exact body signed, and where its retries stand. Its id is the idempotency key.</summary>
public sealed record WebhookDelivery(
    string Id,
    string EndpointId,
    string EventId,
    string EventType,
    string Body,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    WebhookDeliveryState State,
    int? LastStatus,
    string? LastError);
