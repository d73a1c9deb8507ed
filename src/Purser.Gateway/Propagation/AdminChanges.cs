using Purser.Admin;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Propagation;

/// <summary>
/// The one way an operator's committed change takes effect: announced to every instance (with PostgreSQL), then
/// applied here before the admin call answers, so the caller's next request already sees it on this instance.
/// </summary>
internal sealed class AdminChanges
{
    private readonly SharedState _state;
    private readonly IChangeFeed? _changes;
    private readonly ILogger<AdminChanges> _logger;
    private int _unannounced;

    public AdminChanges(SharedState state, ILogger<AdminChanges> logger, IChangeFeed? changes = null)
    {
        _state = state;
        _changes = changes;
        _logger = logger;
    }

    /// <summary>Call after every committed write to keys, budgets, routes, ensembles or Bedtime policies.</summary>
    public async Task PublishAsync(CancellationToken ct)
    {
        if (_changes is null)
        {
            await _state.ReloadAsync("admin change", ct).ConfigureAwait(false);
            return;
        }

        long version;
        try
        {
            version = await _changes.AnnounceAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The change is committed but nobody was told: the listener announces it again at its next check, so the
            // other instances are late by that much, never forever.
            Volatile.Write(ref _unannounced, 1);
            Log.ChangeAnnounceFailed(_logger, ex);
            throw;
        }

        await _state.ApplyAsync(version, "admin change on this instance", ct).ConfigureAwait(false);
    }

    /// <summary>Announces again when an announcement failed (the listener's periodic check calls this).</summary>
    public async Task RetryUnannouncedAsync(CancellationToken ct)
    {
        if (_changes is null || Interlocked.Exchange(ref _unannounced, 0) == 0)
        {
            return;
        }

        try
        {
            var version = await _changes.AnnounceAsync(ct).ConfigureAwait(false);
            await _state.ApplyAsync(version, "announced again", ct).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _unannounced, 1);
            throw;
        }
    }
}
