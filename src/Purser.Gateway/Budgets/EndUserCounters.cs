using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The end users each <c>user:*</c> budget counts in its current window, bounded by
/// <c>server.max_end_users_per_budget</c>. An end user's counter is the ledger counter "budget-id/end-user" (budget
/// ids cannot contain '/'), created by its first hold. This instance keeps, per budget, the set of end users of the
/// current window: seeded once from the ledger (<see cref="IBudgetLedger.ListAsync"/>) when it first meets the window,
/// then grown locally — so there is no ledger round trip per request, only one listing per budget and window per
/// instance. A request naming one end user more than the bound is refused (403 end_user_limit_reached) before any
/// hold. Across N instances each admits at most the bound, so the ledger holds at most N × the bound per window.
/// </summary>
internal sealed class EndUserCounters
{
    private readonly IBudgetLedger _ledger;
    private readonly ConcurrentDictionary<string, Roster> _rosters = new(StringComparer.Ordinal);

    public EndUserCounters(IBudgetLedger ledger)
    {
        _ledger = ledger;
    }

    /// <summary>The separator between a budget id and an end user in a counter's id; never part of a budget id.</summary>
    public const char Separator = '/';

    public static string CounterId(string budgetId, string endUser) => string.Concat(budgetId, "/", endUser);

    public static string Prefix(string budgetId) => budgetId + Separator;

    /// <summary>Whether <paramref name="endUser"/> may be counted by <paramref name="budget"/> in <paramref name="window"/>: null when it may.</summary>
    public async ValueTask<GatewayError?> AdmitAsync(BudgetDefinition budget, WindowInstance window, string endUser, int bound, CancellationToken cancellationToken)
    {
        var roster = _rosters.GetOrAdd(budget.Id, static _ => new Roster());
        var users = roster.Current(window.Key);
        if (users.Seeded && users.Names.ContainsKey(endUser))
        {
            return null;
        }

        if (!users.Seeded)
        {
            // One listing per budget and window on this instance: the end users other instances already count.
            var listed = await _ledger.ListAsync(Prefix(budget.Id), window.Key, bound, cancellationToken).ConfigureAwait(false);
            users.Seed(listed, Prefix(budget.Id).Length);
        }

        return users.TryAdd(endUser, bound)
            ? null
            : new GatewayError(
                GatewayErrorCode.EndUserLimitReached,
                $"Budget '{budget.Id}' (user:*) already counts {bound} end users this {BudgetWindows.Name(budget.Window)} window, the most server.max_end_users_per_budget allows; '{endUser}' is not one of them.",
                BudgetRequestHeaders.UserHeader);
    }

    /// <summary>One budget's end users, for its current window only: a new window replaces the set.</summary>
    private sealed class Roster
    {
        private WindowUsers _current = new("");

        public WindowUsers Current(string windowKey)
        {
            var current = Volatile.Read(ref _current);
            if (string.Equals(current.WindowKey, windowKey, StringComparison.Ordinal))
            {
                return current;
            }

            var fresh = new WindowUsers(windowKey);
            var seen = Interlocked.CompareExchange(ref _current, fresh, current);
            return ReferenceEquals(seen, current) ? fresh : Current(windowKey);
        }
    }

    private sealed class WindowUsers(string windowKey)
    {
        private readonly Lock _gate = new();

        public string WindowKey { get; } = windowKey;

        public ConcurrentDictionary<string, byte> Names { get; } = new(StringComparer.Ordinal);

        public bool Seeded { get; private set; }

        public void Seed(IReadOnlyList<CounterEntry> listed, int prefixLength)
        {
            lock (_gate)
            {
                foreach (var entry in listed)
                {
                    Names.TryAdd(entry.Counter.BudgetId[prefixLength..], 0);
                }

                Seeded = true;
            }
        }

        public bool TryAdd(string endUser, int bound)
        {
            lock (_gate)
            {
                if (Names.ContainsKey(endUser))
                {
                    return true;
                }

                if (Names.Count >= bound)
                {
                    return false;
                }

                Names.TryAdd(endUser, 0);
                return true;
            }
        }
    }
}
