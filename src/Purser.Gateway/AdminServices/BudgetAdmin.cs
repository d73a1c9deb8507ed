using Purser.Admin;
using Purser.Configuration;
using Purser.Budgets;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Propagation;

namespace Purser.Gateway.AdminServices;

/// <summary>
/// Listing, setting and deleting budgets: the one place that does it, for the admin API and the dashboard. Every change
/// is announced to the other instances through <see cref="AdminChanges"/>.
/// </summary>
internal sealed class BudgetAdmin
{
    private readonly ConfigMonitor _config;
    private readonly IAdminStore _store;
    private readonly IBudgetLedger _ledger;
    private readonly AdminChanges _changes;
    private readonly TimeProvider _time;
    private readonly RollingWindows _rolling;

    public BudgetAdmin(ConfigMonitor config, IAdminStore store, IBudgetLedger ledger, AdminChanges changes, TimeProvider time)
    {
        _config = config;
        _store = store;
        _ledger = ledger;
        _changes = changes;
        _time = time;
        _rolling = new RollingWindows(ledger);
    }

    /// <summary>Every budget (the file's first, then the stored ones) with its current window and counter.</summary>
    public async Task<IReadOnlyList<BudgetView>> ViewsAsync(CancellationToken ct)
    {
        var state = _config.Current;
        var budgets = new List<(BudgetDefinition Budget, string Source)>();
        var fromFile = new HashSet<string>(StringComparer.Ordinal);
        foreach (var budget in state.Config.Budgets)
        {
            budgets.Add((budget, "config"));
            fromFile.Add(budget.Id);
        }

        foreach (var budget in await _store.ListBudgetsAsync(ct).ConfigureAwait(false))
        {
            if (!fromFile.Contains(budget.Id))
            {
                budgets.Add((budget, "api"));
            }
        }

        var now = _time.GetUtcNow();
        var windows = new WindowInstance[budgets.Count];
        var counters = new CounterKey[budgets.Count];
        for (var i = 0; i < budgets.Count; i++)
        {
            windows[i] = BudgetWindows.Current(budgets[i].Budget.Window, BudgetAdmission.ZoneOf(budgets[i].Budget), now);
            counters[i] = new CounterKey(budgets[i].Budget.Id, windows[i].Key);
        }

        var states = await _ledger.ReadAsync(counters, ct).ConfigureAwait(false);
        var views = new BudgetView[budgets.Count];
        for (var i = 0; i < budgets.Count; i++)
        {
            // A rolling window is its current bucket and the buckets before it.
            var past = await _rolling.PastAsync(budgets[i].Budget, budgets[i].Budget.Id, windows[i], ct).ConfigureAwait(false);
            views[i] = new BudgetView(budgets[i].Budget, budgets[i].Source, windows[i], states[i] + past);
        }

        return views;
    }

    /// <summary>Creates or replaces a stored budget from an admin body; file budgets are refused.</summary>
    public async Task<(BudgetView? Budget, GatewayError? Error)> PutAsync(string id, System.Text.Json.Nodes.JsonObject body, CancellationToken ct)
    {
        var state = _config.Current;

        // What GET returns may be sent back as it is: its read-only fields are not part of the definition.
        body.Remove("source");
        body.Remove("current");
        var (read, errors) = AdminEntries.ReadBudget(state.Config, AdminRefusal.KeyIds(state), id, AliasJson.DefinitionText(body));
        if (read is not { } budget)
        {
            return (null, AdminRefusal.Invalid(errors, AdminEntries.BudgetPath(id), "id"));
        }

        if (state.Config.Budgets.Any(b => b.Id == id))
        {
            return (null, AdminRefusal.Conflict($"The budget '{id}' is defined in the configuration file; change it there.", "id"));
        }

        await _store.UpsertBudgetAsync(budget, ct).ConfigureAwait(false);
        await _changes.PublishAsync(ct).ConfigureAwait(false);
        var window = BudgetWindows.Current(budget.Window, BudgetAdmission.ZoneOf(budget), _time.GetUtcNow());
        var counter = await _ledger.ReadAsync([new CounterKey(budget.Id, window.Key)], ct).ConfigureAwait(false);
        var past = await _rolling.PastAsync(budget, budget.Id, window, ct).ConfigureAwait(false);
        return (new BudgetView(budget, "api", window, counter[0] + past), null);
    }

    /// <summary>Deletes a stored budget; file budgets and unknown ids are a 404.</summary>
    public async Task<GatewayError?> DeleteAsync(string id, CancellationToken ct)
    {
        if (!await _store.DeleteBudgetAsync(id, ct).ConfigureAwait(false))
        {
            return AdminRefusal.NotFound($"No budget '{id}' was created through the admin API.", "id");
        }

        await _changes.PublishAsync(ct).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The end users a <c>user:*</c> budget counts in its current window, most committed first (at most
    /// <paramref name="limit"/>); null when there is no such budget.
    /// </summary>
    public async Task<(BudgetDefinition Budget, WindowInstance Window, IReadOnlyList<CounterEntry> Users)?> EndUsersAsync(string id, int limit, CancellationToken ct)
    {
        var state = _config.Current;
        if (!state.Budgets.TryGetValue(id, out var budget) || budget.Scope.Kind != ScopeKind.EndUser)
        {
            return null;
        }

        var window = BudgetWindows.Current(budget.Window, BudgetAdmission.ZoneOf(budget), _time.GetUtcNow());
        var users = await _ledger.ListAsync(EndUserCounters.Prefix(budget.Id), window.Key, limit, ct).ConfigureAwait(false);
        if (BudgetWindows.IsRolling(budget.Window))
        {
            // Listed by the current bucket (who spends now); each shown with the whole window.
            var whole = new CounterEntry[users.Count];
            for (var i = 0; i < whole.Length; i++)
            {
                whole[i] = users[i] with { State = users[i].State + await _rolling.PastAsync(budget, users[i].Counter.BudgetId, window, ct).ConfigureAwait(false) };
            }

            users = whole;
        }

        return (budget, window, users);
    }
}
