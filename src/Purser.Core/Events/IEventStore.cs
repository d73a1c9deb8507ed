namespace Purser.Events;

/// <summary>The durable event log, shared by every gateway instance on the same database.</summary>
public interface IEventStore
{
    /// <summary>Appends the event; its id must be new.</summary>
    Task AppendAsync(GatewayEvent e, CancellationToken ct);

    /// <summary>
    /// Appends the event unless <paramref name="dedupeKey"/> was used before, atomically across threads and processes:
    /// false and nothing written when it was. This is how a threshold alert fires once per window even when many
    /// requests cross it at the same moment on many instances.
    /// </summary>
    Task<bool> TryAppendOnceAsync(string dedupeKey, GatewayEvent e, CancellationToken ct);

    /// <summary>The matching events, newest first.</summary>
    Task<IReadOnlyList<GatewayEvent>> QueryAsync(EventQuery query, CancellationToken ct);
}
