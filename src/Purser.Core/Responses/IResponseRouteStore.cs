namespace Purser.Responses;

/// <summary>
/// The response id → provider memory of the Responses API, shared by every instance (and kept across restarts): one row
/// per stored response, written once when the response is relayed and read by primary key when a caller comes back
/// for it. A background response's pending hold is claimed at most once (<see cref="TryClaimPendingAsync"/>), so two
/// retrievals racing on two instances settle it once.
/// </summary>
public interface IResponseRouteStore
{
    /// <summary>Remembers <paramref name="route"/>; a second write of the same id changes nothing.</summary>
    Task RememberAsync(ResponseRoute route, CancellationToken ct);

    /// <summary>Records the size of the response's conversation (input + output tokens) once it is known.</summary>
    Task RecordConversationAsync(string responseId, long conversationTokens, CancellationToken ct);

    /// <summary>The route of this response id, or null.</summary>
    Task<ResponseRoute?> FindAsync(string responseId, CancellationToken ct);

    /// <summary>Clears the pending hold of the response; true for the one caller that cleared it.</summary>
    Task<bool> TryClaimPendingAsync(string responseId, CancellationToken ct);

    /// <summary>
    /// Up to <paramref name="limit"/> routes whose background hold is still pending and that were created at or before
    /// <paramref name="createdBefore"/>, oldest first: what the background sweep settles before their holds expire.
    /// </summary>
    Task<IReadOnlyList<ResponseRoute>> PendingAsync(DateTimeOffset createdBefore, int limit, CancellationToken ct);

    /// <summary>Forgets the response (it was deleted at the provider).</summary>
    Task ForgetAsync(string responseId, CancellationToken ct);
}
