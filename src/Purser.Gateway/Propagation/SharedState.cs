using Purser.Admin;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;

namespace Purser.Gateway.Propagation;

/// <summary>
/// Loads what operators stored (keys, budgets, routes, ensembles, Bedtime policies) into the in-memory state every
/// request reads, and remembers which shared version that state reflects. Reloads run one at a time: two reloads
/// racing could otherwise publish an older read after a newer one.
/// </summary>
internal sealed class SharedState : IDisposable
{
    private readonly ConfigMonitor _config;
    private readonly IAdminStore _admin;
    private readonly Purser.RateLimits.IRateLimitStore _rateLimits;
    private readonly IBedtimeStore _bedtimeStore;
    private readonly BedtimeGuard _bedtime;
    private readonly TaskBudgets _tasks;
    private readonly IChangeFeed? _changes;
    private readonly ILogger<SharedState> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _applied;

    public SharedState(ConfigMonitor config, IAdminStore admin, Purser.RateLimits.IRateLimitStore rateLimits, IBedtimeStore bedtimeStore, BedtimeGuard bedtime, TaskBudgets tasks, ILogger<SharedState> logger, IChangeFeed? changes = null)
    {
        _config = config;
        _admin = admin;
        _rateLimits = rateLimits;
        _bedtimeStore = bedtimeStore;
        _bedtime = bedtime;
        _tasks = tasks;
        _changes = changes;
        _logger = logger;
    }

    /// <summary>The shared version the in-memory state includes every change up to.</summary>
    public long AppliedVersion => Interlocked.Read(ref _applied);

    /// <summary>Reloads everything now (after a write on this instance without a feed, and after the listener reconnected).</summary>
    public Task ReloadAsync(string reason, CancellationToken ct) => RunAsync(null, force: true, reason, ct);

    /// <summary>Reloads when the shared version moved past the applied one (the periodic fallback check).</summary>
    public Task CatchUpAsync(CancellationToken ct) => RunAsync(null, force: false, "version check", ct);

    /// <summary>Reloads unless <paramref name="version"/>, committed before this call, is applied already.</summary>
    public Task ApplyAsync(long version, string reason, CancellationToken ct) => RunAsync(version, force: false, reason, ct);

    public void Dispose() => _gate.Dispose();

    private async Task RunAsync(long? announced, bool force, string reason, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!force && announced is { } known && known <= _applied)
            {
                return;
            }

            // The version is read before the lists, so the lists hold at least every change up to it (each change is
            // announced only after it committed).
            var version = announced ?? (_changes is null ? 0 : await _changes.ReadVersionAsync(ct).ConfigureAwait(false));
            if (!force && version <= _applied)
            {
                return;
            }

            var keys = await _admin.ListKeysAsync(ct).ConfigureAwait(false);
            var budgets = await _admin.ListBudgetsAsync(ct).ConfigureAwait(false);
            var aliases = await _admin.ListAliasesAsync(ct).ConfigureAwait(false);
            var policies = await _bedtimeStore.ListAsync(ct).ConfigureAwait(false);
            var rateLimits = await _rateLimits.ListAsync(ct).ConfigureAwait(false);
            var before = _config.Current.StoredBudgets;
            _config.ApplyStored(keys, budgets, aliases, rateLimits);
            _bedtime.ApplyStored(policies);
            ForgetTaskBudgets(before);
            ForgetTaskBudgets(budgets);
            Interlocked.Exchange(ref _applied, Math.Max(_applied, version));
            if (_changes is not null)
            {
                Log.ChangesApplied(_logger, version, reason);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Task budgets are cached apart from the state; an operator may have changed or deleted any of them.</summary>
    private void ForgetTaskBudgets(IReadOnlyList<BudgetDefinition> budgets)
    {
        foreach (var budget in budgets)
        {
            if (budget.Scope.Kind == ScopeKind.Task)
            {
                _tasks.Invalidate(budget.Id);
            }
        }
    }
}
