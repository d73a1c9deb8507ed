namespace Purser.Events.Webhooks;

/// <summary>Where an operator wants events delivered.</summary>
/// <param name="Secret">The HMAC-SHA256 key for the x-purser-signature header; kept to sign, never shown after creation.</param>
/// <param name="EventTypes">The event types delivered; empty means every type.</param>
public sealed record WebhookEndpoint(string Id, Uri Url, string Secret, IReadOnlyList<string> EventTypes, DateTimeOffset CreatedAt)
{
    public bool Wants(string eventType)
    {
        if (EventTypes.Count == 0)
        {
            return true;
        }

        foreach (var type in EventTypes)
        {
            if (string.Equals(type, eventType, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
