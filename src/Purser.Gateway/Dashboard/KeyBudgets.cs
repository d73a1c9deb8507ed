using Purser.Budgets;
using Purser.Gateway.Admin;
using Purser.Gateway.AdminServices;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// A key's own budgets (scope <c>key:&lt;id&gt;</c>) for the Keys page, tightest first: the one a request would hit
/// first is the one the operator needs to see. A key can have several (a daily and a monthly cap, a file budget and a
/// dashboard cap); showing the first by id once showed "0% of $5" for a key refused at 100% of another.
/// </summary>
internal static class KeyBudgets
{
    /// <summary>The id a cap set from the dashboard gets when the key has no budget the operator picked.</summary>
    public static string NewCapId(string keyId) => "key-cap-" + keyId;

    /// <summary>
    /// Budgets by key id, each list tightest first: the highest share of its cap used or held (money or tokens,
    /// whichever is higher), then the least money left, then by id so the order is stable. A budget without a cap
    /// limits nothing and comes last.
    /// </summary>
    public static Dictionary<string, List<BudgetView>> ByKey(IEnumerable<BudgetView> views)
    {
        var byKey = new Dictionary<string, List<BudgetView>>(StringComparer.Ordinal);
        foreach (var view in views)
        {
            if (view.Budget.Scope.Kind != ScopeKind.Key)
            {
                continue;
            }

            if (!byKey.TryGetValue(view.Budget.Scope.Id, out var list))
            {
                list = [];
                byKey[view.Budget.Scope.Id] = list;
            }

            list.Add(view);
        }

        foreach (var list in byKey.Values)
        {
            list.Sort(Tighter);
        }

        return byKey;
    }

    /// <summary>
    /// The share of the cap spent or held, in money or tokens (whichever is higher): 0 untouched, 1 at the cap, more past
    /// it (post-hoc), infinity for a cap of zero, and −1 for a budget with no cap at all.
    /// </summary>
    public static double UsedShare(BudgetView view)
    {
        var share = -1.0;
        if (view.Budget.CapUsd is { } cap)
        {
            var used = (double)(view.State.Spent.NanoUsd + view.State.Held.NanoUsd);
            share = cap.NanoUsd == 0 ? double.PositiveInfinity : used / cap.NanoUsd;
        }

        if (view.Budget.CapTokens is { } tokens)
        {
            var used = (double)(view.State.SpentTokens + view.State.HeldTokens);
            share = Math.Max(share, tokens == 0 ? double.PositiveInfinity : used / tokens);
        }

        return share;
    }

    private static int Tighter(BudgetView a, BudgetView b)
    {
        var byShare = UsedShare(b).CompareTo(UsedShare(a));
        if (byShare != 0)
        {
            return byShare;
        }

        var byLeft = Left(a).CompareTo(Left(b));
        return byLeft != 0 ? byLeft : string.CompareOrdinal(a.Budget.Id, b.Budget.Id);
    }

    private static long Left(BudgetView view) => view.Budget.CapUsd is { } cap
        ? cap.NanoUsd - view.State.Spent.NanoUsd - view.State.Held.NanoUsd
        : long.MaxValue;
}
