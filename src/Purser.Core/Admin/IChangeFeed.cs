namespace Purser.Admin;

/// <summary>
/// How an operator's change to the shared stores (keys, budgets, routes, ensembles, Bedtime policies) reaches every
/// gateway instance: a version number bumped by each change and an announcement every instance listens for. Only a
/// store shared by several instances has one; with the embedded SQLite file there is one instance and nothing to tell.
/// </summary>
public interface IChangeFeed
{
    /// <summary>Bumps the shared version and announces it to every listener, after the change was committed; returns the new version.</summary>
    Task<long> AnnounceAsync(CancellationToken ct);

    /// <summary>The shared version now (the fallback check for an announcement that was missed).</summary>
    Task<long> ReadVersionAsync(CancellationToken ct);

    /// <summary>
    /// Opens a listening connection, calls <paramref name="onListening"/> once it listens (a change committed from then
    /// on is announced to it), then <paramref name="onAnnounced"/> with each announced version, until the connection
    /// fails (an exception) or <paramref name="ct"/> is cancelled. <paramref name="onAnnounced"/> must not block.
    /// </summary>
    Task ListenAsync(Func<CancellationToken, Task> onListening, Action<long> onAnnounced, CancellationToken ct);
}
