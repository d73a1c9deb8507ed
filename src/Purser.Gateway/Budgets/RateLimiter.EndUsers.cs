using System.Globalization;
using Purser.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.RateLimits;

namespace Purser.Gateway.Budgets;

/// <summary>
/// <c>user:*</c> rate limits: a template whose buckets exist once per end user (the caller's <c>x-budget-user</c>, or the
/// body's user when the key trusts it), created on first use, under the limit's <c>under</c> key or team if it names one.
/// A limit counts at most <c>server.max_end_users_per_budget</c> end users on this instance (until it is deleted
/// or the instance restarts); a new end user past that is refused with 403 <c>end_user_limit_reached</c> rather than the map growing
/// without bound. All of it under the limiter's lock.
/// </summary>
internal sealed partial class RateLimiter
{
    private const string EndUserTemplate = "user:*";

    private readonly Dictionary<string, int> _endUserCounts = new(StringComparer.Ordinal);

    /// <summary>Requests in flight under <paramref name="limitId"/> for one end user on this instance (0 when unknown).</summary>
    public int InFlight(string limitId, string endUser)
    {
        lock (_gate)
        {
            return _limits.TryGetValue(EndUserStateKey(limitId, endUser), out var limit) ? limit.InFlight : 0;
        }
    }

    /// <summary>How many end users the <c>user:*</c> limit <paramref name="limitId"/> counts on this instance.</summary>
    public int EndUsersOf(string limitId)
    {
        lock (_gate)
        {
            return _endUserCounts.GetValueOrDefault(limitId);
        }
    }

    private static string EndUserStateKey(string limitId, string endUser) => limitId + "|user:" + endUser;

    private static void CollectEndUser(List<Applicable> into, GatewayState state, Keys.VirtualKey key, string endUser, string alias)
    {
        if (!state.RateLimitsByScope.TryGetValue(EndUserTemplate, out var limits))
        {
            return;
        }

        foreach (var limit in limits)
        {
            var under = limit.Under is not { } u
                || (u.Kind == ScopeKind.Key && string.Equals(u.Id, key.Id, StringComparison.Ordinal))
                || (u.Kind == ScopeKind.Team && string.Equals(u.Id, key.Team, StringComparison.Ordinal));
            if (under && limit.AppliesTo(alias))
            {
                into.Add(new Applicable(limit, endUser));
            }
        }
    }

    private static GatewayError TooManyEndUsers(Applicable applicable, int bound) =>
        new(
            GatewayErrorCode.EndUserLimitReached,
            string.Create(CultureInfo.InvariantCulture, $"Rate limit '{applicable.Definition.Id}' (user:*) already counts {bound} end users, the most server.max_end_users_per_budget allows; '{applicable.EndUser}' is not one of them."),
            BudgetRequestHeaders.UserHeader);

    /// <summary>Counts one more end user of <paramref name="limitId"/>, or false at the bound. Under the lock.</summary>
    private bool TryCountEndUser(string limitId, int bound)
    {
        var count = _endUserCounts.GetValueOrDefault(limitId);
        if (count >= bound)
        {
            return false;
        }

        _endUserCounts[limitId] = count + 1;
        return true;
    }

    /// <summary>A deleted user:* limit forgets its end-user count (its states are pruned too). Under the lock.</summary>
    private void ForgetEndUserCounts(GatewayState state)
    {
        List<string>? gone = null;
        foreach (var id in _endUserCounts.Keys)
        {
            if (!state.RateLimitIds.Contains(id))
            {
                (gone ??= []).Add(id);
            }
        }

        foreach (var id in gone ?? [])
        {
            _endUserCounts.Remove(id);
        }
    }

    /// <summary>A limit that applies to a request, and the end user whose buckets it uses (null for the limit's own).</summary>
    private readonly record struct Applicable(RateLimitDefinition Definition, string? EndUser);
}
