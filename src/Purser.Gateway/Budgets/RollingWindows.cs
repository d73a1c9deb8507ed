using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// What the earlier buckets of a rolling window hold (<see cref="BudgetWindows.Rolling"/>). A request is held on the
/// current bucket's counter against the cap less the earlier buckets' spent + held, so the ledger's atomic check on
/// one counter keeps the whole window within its cap. The earlier buckets are read once per bucket and counter on this
/// instance and cached: a closed bucket only takes settlements of holds it already counts (a reserve-mode settlement
/// is at most its hold), so its spent + held never grows, and a cached sum is never below the truth — the cap a
/// request is checked against is never above what is really left. Money released in a closed bucket is seen when the
/// next bucket starts.
/// </summary>
internal sealed class RollingWindows
{
    private const int MaxCached = 100_000;

    private readonly IBudgetLedger _ledger;
    private readonly ConcurrentDictionary<string, (string Bucket, CounterState Past)> _past = new(StringComparer.Ordinal);

    public RollingWindows(IBudgetLedger ledger)
    {
        _ledger = ledger;
    }

    /// <summary>The earlier buckets' sum for the counter <paramref name="counterId"/> of <paramref name="budget"/>; empty for a calendar window.</summary>
    public async ValueTask<CounterState> PastAsync(BudgetDefinition budget, string counterId, WindowInstance window, CancellationToken cancellationToken)
    {
        if (!BudgetWindows.IsRolling(budget.Window))
        {
            return CounterState.Empty;
        }

        if (_past.TryGetValue(counterId, out var cached) && string.Equals(cached.Bucket, window.Key, StringComparison.Ordinal))
        {
            return cached.Past;
        }

        var buckets = BudgetWindows.PastBuckets(budget.Window, window);
        var keys = new CounterKey[buckets.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = new CounterKey(counterId, buckets[i]);
        }

        var states = await _ledger.ReadAsync(keys, cancellationToken).ConfigureAwait(false);
        var past = CounterState.Empty;
        foreach (var state in states)
        {
            past += state;
        }

        if (_past.Count >= MaxCached)
        {
            _past.Clear();
        }

        _past[counterId] = (window.Key, past);
        return past;
    }

    /// <summary>A line's cap on its current bucket: the budget's cap less what the earlier buckets hold, never below zero.</summary>
    public static (Money? Usd, long? Tokens) BucketCaps(BudgetDefinition budget, CounterState past) =>
        (budget.CapUsd is { } cap ? Money.Max(Money.Zero, cap - past.Spent - past.Held) : null,
         budget.CapTokens is { } tokens ? Math.Max(0, tokens - past.SpentTokens - past.HeldTokens) : null);
}
