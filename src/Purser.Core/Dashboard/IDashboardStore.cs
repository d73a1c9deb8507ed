namespace Purser.Dashboard;

/// <summary>
/// What the web dashboard keeps in the shared store, so that every instance on it agrees: the Data Protection key ring
/// that seals its cookies and antiforgery tokens (a cookie made on one instance opens on every other), and the list of
/// open sessions (signing out, or rotating the master key, ends a session everywhere, also for a copy of its cookie).
/// </summary>
public interface IDashboardStore
{
    /// <summary>Every key ring element (XML text) in the order stored. Synchronous: Data Protection reads its key ring so.</summary>
    IReadOnlyList<string> ListKeyRingElements();

    /// <summary>Adds a key ring element; Data Protection never changes or removes one.</summary>
    void AddKeyRingElement(string name, string xml);

    /// <summary>Opens a session.</summary>
    Task AddSessionAsync(DashboardSessionRecord session, CancellationToken ct);

    /// <summary>The session, or null when it was ended or never existed (expired ones are returned: the caller compares times).</summary>
    Task<DashboardSessionRecord?> FindSessionAsync(string id, CancellationToken ct);

    /// <summary>Moves a session's end (its expiry slides while the operator is active); false when it was ended.</summary>
    Task<bool> ExtendSessionAsync(string id, DateTimeOffset expiresAt, CancellationToken ct);

    /// <summary>Ends a session (sign-out); false when there was none.</summary>
    Task<bool> EndSessionAsync(string id, CancellationToken ct);

    /// <summary>Ends every session not opened with <paramref name="fingerprint"/> (the master key was rotated) and every one expired at <paramref name="now"/>; returns how many.</summary>
    Task<int> EndSessionsAsync(string fingerprint, DateTimeOffset now, CancellationToken ct);
}
