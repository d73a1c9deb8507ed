namespace Purser.Events.Webhooks;

/// <summary>
/// Which deliveries a batch of events makes, the one rule both webhook stores apply: an endpoint receives an event it
/// wants that happened after it was registered (not the history), each with a new delivery id, and an event's body is
/// rendered once however many endpoints receive it.
/// </summary>
public static class WebhookFanOut
{
    /// <summary>One delivery to queue.</summary>
    public readonly record struct Delivery(string Id, string EndpointId, string EventId, string EventType, string Body);

    public static IEnumerable<Delivery> Of(IEnumerable<GatewayEvent> events, IReadOnlyList<WebhookEndpoint> endpoints, Func<GatewayEvent, string> body)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(body);
        foreach (var e in events)
        {
            string? json = null;
            foreach (var endpoint in endpoints)
            {
                if (e.Timestamp < endpoint.CreatedAt || !endpoint.Wants(e.Type))
                {
                    continue;
                }

                json ??= body(e);
                yield return new Delivery("whd_" + Guid.NewGuid().ToString("N"), endpoint.Id, e.Id, e.Type, json);
            }
        }
    }
}
