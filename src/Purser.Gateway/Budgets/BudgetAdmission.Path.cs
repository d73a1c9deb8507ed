using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Configuration;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Keys;

namespace Purser.Gateway.Budgets;

/// <summary>Step 1 of admission: which budgets a request is held on, each in its current window.</summary>
internal sealed partial class BudgetAdmission
{
    private static readonly ConcurrentDictionary<string, TimeZoneInfo> Zones = new(StringComparer.Ordinal);

    /// <summary>
    /// The budgets on a key's path, each in its current window: the organisation, the whole gateway, the key's team,
    /// the key, each <c>user:*</c> budget over the named end user, each tag's budgets, and the task when named. A budget
    /// narrowed to a model applies only when <paramref name="alias"/> (the alias the caller asked for) is that model;
    /// a null alias (reading the budgets, not spending) keeps every budget. <paramref name="reading"/> counts no new end user.
    /// </summary>
    public async ValueTask<(List<PathLine> Lines, GatewayError? Error)> PathAsync(GatewayState state, VirtualKey key, BudgetRequestHeaders headers, string? alias, CancellationToken cancellationToken, bool reading = false)
    {
        var now = _time.GetUtcNow();
        var lines = new List<PathLine>(4);
        Add(lines, state, new ScopeRef(ScopeKind.Organization, state.Config.Organization).ToString(), alias, now);
        Add(lines, state, ScopeRef.GlobalText, alias, now);
        if (key.Team is { } team)
        {
            Add(lines, state, new ScopeRef(ScopeKind.Team, team).ToString(), alias, now);
        }

        Add(lines, state, new ScopeRef(ScopeKind.Key, key.Id).ToString(), alias, now);
        if (headers.EndUser is { } endUser && state.BudgetsByScope.TryGetValue(ScopeRef.EndUserTemplate.ToString(), out var perUser))
        {
            foreach (var budget in perUser)
            {
                if (!Applies(budget, alias) || !Covers(budget.Under, key))
                {
                    continue;
                }

                var window = BudgetWindows.Current(budget.Window, ZoneOf(budget), now);
                if (!reading && EndUsers is { } endUsers)
                {
                    GatewayError? full;
                    try
                    {
                        full = await endUsers.AdmitAsync(budget, window, endUser, state.Config.Server.MaxEndUsersPerBudget, cancellationToken).ConfigureAwait(false);
                    }
                    catch (LedgerUnavailableException)
                    {
                        return (lines, LedgerUnavailable);
                    }

                    if (full is { } error)
                    {
                        return (lines, error);
                    }
                }

                lines.Add(new PathLine(budget, window, EndUser: endUser));
            }
        }

        foreach (var tag in headers.Tags)
        {
            Add(lines, state, ScopeRef.Prefix(ScopeKind.Tag) + tag, alias, now);
        }
        if (headers.TaskId is { } taskId)
        {
            BudgetDefinition? task;
            bool isNew;
            GatewayError? conflict;
            try
            {
                (task, isNew, conflict) = await _tasks.ResolveAsync(key, taskId, headers.Ceiling, cancellationToken).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                return (lines, LedgerUnavailable);
            }

            if (conflict is { } error)
            {
                return (lines, error);
            }

            if (task is null)
            {
                return (lines, new GatewayError(GatewayErrorCode.UnknownScope, $"The task scope '{taskId}' does not exist: send x-budget-ceiling with its first call to create it.", BudgetRequestHeaders.ScopeHeader));
            }

            lines.Add(new PathLine(task, BudgetWindows.Current(task.Window, ZoneOf(task), now), isNew ? key : null));
        }

        try
        {
            for (var i = 0; i < lines.Count; i++)
            {
                if (BudgetWindows.IsRolling(lines[i].Budget.Window))
                {
                    lines[i] = lines[i] with { Past = await _rolling.PastAsync(lines[i].Budget, lines[i].CounterId, lines[i].Window, cancellationToken).ConfigureAwait(false) };
                }
            }
        }
        catch (LedgerUnavailableException)
        {
            return (lines, LedgerUnavailable);
        }

        return (lines, null);
    }

    /// <summary>The whole windows' states: each line's counter with its rolling window's earlier buckets added.</summary>
    public static CounterState[] Whole(IReadOnlyList<PathLine> lines, IReadOnlyList<CounterState> states)
    {
        var whole = new CounterState[states.Count];
        for (var i = 0; i < whole.Length; i++)
        {
            whole[i] = i < lines.Count ? lines[i].Whole(states[i]) : states[i];
        }

        return whole;
    }

    private static void Add(List<PathLine> lines, GatewayState state, string scope, string? alias, DateTimeOffset now)
    {
        if (!state.BudgetsByScope.TryGetValue(scope, out var budgets))
        {
            return;
        }

        foreach (var budget in budgets)
        {
            if (Applies(budget, alias))
            {
                lines.Add(new PathLine(budget, BudgetWindows.Current(budget.Window, ZoneOf(budget), now)));
            }
        }
    }

    /// <summary>A budget narrowed to a model applies to requests for that alias only; reading (no alias) shows it.</summary>
    private static bool Applies(BudgetDefinition budget, string? alias) =>
        budget.Model is not { } model || alias is null || string.Equals(model, alias, StringComparison.Ordinal);

    /// <summary>Whether a <c>user:*</c> budget's "under" covers this key: itself, its team, or (null) every key.</summary>
    private static bool Covers(ScopeRef? under, VirtualKey key) => under switch
    {
        null => true,
        { Kind: ScopeKind.Key } u => string.Equals(u.Id, key.Id, StringComparison.Ordinal),
        { Kind: ScopeKind.Team } u => string.Equals(u.Id, key.Team, StringComparison.Ordinal),
        _ => false,
    };

    internal static TimeZoneInfo ZoneOf(BudgetDefinition budget) =>
        Zones.GetOrAdd(budget.TimeZone, static id => BudgetWindows.TryFindZone(id, out var zone) ? zone : TimeZoneInfo.Utc);
}
