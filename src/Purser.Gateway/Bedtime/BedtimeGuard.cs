using System.Collections.Concurrent;
using System.Collections.Frozen;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Configuration;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Keys;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Bedtime;

/// <summary>
/// Bedtime Mode at admission (SPEC §5). A key without a policy on itself or its team costs one or two dictionary
/// lookups. A watched scope's baseline and today's spend are read from the usage records once per local day and kept
/// current in memory as requests settle, so no request scans the records. Trips and wakes are events.
/// </summary>
internal sealed class BedtimeGuard : IDisposable
{
    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMinutes(1);

    private readonly ConfigMonitor _config;
    private readonly ISpendHistory _history;
    private readonly IUsageExport _usage;
    private readonly BudgetEvents _events;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, BedtimeWatch> _watches = new(StringComparer.Ordinal);
    private readonly ITimer _sweep;
    private volatile Policies _policies;

    public BedtimeGuard(ConfigMonitor config, ISpendHistory history, IUsageExport usage, BudgetEvents events, TimeProvider time, IReadOnlyList<BedtimePolicy> stored)
    {
        _config = config;
        _history = history;
        _usage = usage;
        _events = events;
        _time = time;
        _policies = Build(config.Current.Config, stored);

        // Ends trips at their wake time even when no request comes, so the wake event is on time.
        _sweep = time.CreateTimer(_ => Sweep(), null, SweepPeriod, SweepPeriod);
    }

    /// <summary>The policies in force: the config file's, then the admin API's for scopes the file does not name.</summary>
    public IReadOnlyCollection<BedtimePolicy> Current => Refresh(_config.Current.Config).ByScope.Values;

    /// <summary>Whether the config file defines this scope's policy (the admin API may not change it then).</summary>
    public bool IsFromFile(string scope)
    {
        foreach (var policy in _config.Current.Config.Bedtime)
        {
            if (policy.Scope.ToString() == scope)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Replaces the admin API's policies (after a change on any instance).</summary>
    public void ApplyStored(IReadOnlyList<BedtimePolicy> stored)
    {
        // Every reload reads new instances of unchanged policies: keep the old ones, so that their watches (today's
        // spend, a trip, an operator's wake) survive another operator's unrelated change.
        var current = _policies.Stored;
        var kept = new List<BedtimePolicy>(stored.Count);
        foreach (var policy in stored)
        {
            var same = policy;
            foreach (var old in current)
            {
                if (old == policy)
                {
                    same = old;
                    break;
                }
            }

            kept.Add(same);
        }

        _policies = Build(_config.Current.Config, kept);
    }

    public BedtimeWatch? Watch(string scope) =>
        Refresh(_config.Current.Config).ByScope.TryGetValue(scope, out var policy) ? WatchOf(policy) : null;

    /// <summary>The check at admission for the caller's key and team.</summary>
    public async ValueTask<BedtimeVerdict> CheckAsync(GatewayState state, VirtualKey key, string? requestId, CancellationToken ct, bool allowDegrade = true)
    {
        var policies = Refresh(state.Config).ByScope;
        if (policies.Count == 0)
        {
            return BedtimeVerdict.None;
        }

        policies.TryGetValue("key:" + key.Id, out var keyPolicy);
        BedtimePolicy? teamPolicy = null;
        if (key.Team is { } team)
        {
            policies.TryGetValue("team:" + team, out teamPolicy);
        }

        if (keyPolicy is not { Enabled: true } && teamPolicy is not { Enabled: true })
        {
            return BedtimeVerdict.None;
        }

        var watches = keyPolicy is { Enabled: true } && teamPolicy is { Enabled: true }
            ? new[] { WatchOf(keyPolicy), WatchOf(teamPolicy) }
            : new[] { WatchOf(keyPolicy is { Enabled: true } ? keyPolicy : teamPolicy!) };
        var now = _time.GetUtcNow();
        foreach (var watch in watches)
        {
            await EnsureDayAsync(watch, state, now, ct).ConfigureAwait(false);
            var outcome = watch.Evaluate(now);
            Raise(watch, outcome, requestId);
            if (!outcome.Tripped)
            {
                continue;
            }

            if (allowDegrade && watch.Policy.DegradeModel is { } alias && state.Models.TryGetValue(alias, out var fallback))
            {
                return new BedtimeVerdict(null, fallback, alias, watches);
            }

            return new BedtimeVerdict(Refusal(watch, outcome, now), null, null, watches);
        }

        return new BedtimeVerdict(null, null, null, watches);
    }

    /// <summary>An operator wakes the scope for the rest of tonight. Null when the scope has no policy.</summary>
    public bool? Wake(string scope)
    {
        if (Watch(scope) is not { } watch)
        {
            return null;
        }

        var wasTripped = watch.Wake(_time.GetUtcNow());
        _events.Raise("bedtime.woke", scope, null, $"Bedtime Mode: {scope} was woken by an operator{(wasTripped ? "" : " (it was not tripped)")}; it will not trip again before tonight's wake time.");
        return wasTripped;
    }

    public void Dispose()
    {
        _sweep.Dispose();
        foreach (var watch in _watches.Values)
        {
            watch.Dispose();
        }
    }

    private static GatewayError Refusal(BedtimeWatch watch, in BedtimeOutcome outcome, DateTimeOffset now)
    {
        var policy = watch.Policy;
        var remedy = $"Bedtime Mode stops unusual night-time spend. Wait until {outcome.WakeAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} ({policy.SleepEnd:HH\\:mm} {policy.TimeZone}), or ask an operator to wake the key (POST /admin/bedtime/{watch.Scope}/wake).";
        return new GatewayError(GatewayErrorCode.BudgetExceeded,
            $"Bedtime Mode is active for {watch.Scope}: today's spend of ${outcome.Spent} reached {policy.Multiplier}x the baseline (max of ${outcome.Baseline} and the floor ${policy.Floor}) during sleeping hours {policy.Hours} {policy.TimeZone}.")
        {
            Budget = new BudgetDenial("bedtime_mode_active", watch.Scope, "", "bedtime", outcome.Threshold, outcome.Spent, Money.Zero, null, null, 0, 0, outcome.WakeAt, remedy),
            RetryAfterSeconds = (int)Math.Max(1, Math.Ceiling((outcome.WakeAt - now).TotalSeconds)),
        };
    }

    private void Raise(BedtimeWatch watch, in BedtimeOutcome outcome, string? requestId)
    {
        if (outcome.Woke)
        {
            RaiseWoke(watch);
        }

        if (outcome.JustTripped)
        {
            _events.Raise("bedtime.tripped", watch.Scope, requestId,
                $"Bedtime Mode tripped {watch.Scope}: today's spend ${outcome.Spent} reached ${outcome.Threshold} ({watch.Policy.Multiplier}x max(baseline ${outcome.Baseline}, floor ${watch.Policy.Floor})); refused{(watch.Policy.DegradeModel is { } m ? " (degraded to " + m + ")" : "")} until {outcome.WakeAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.",
                dedupeKey: "bedtime:" + watch.Scope + ":" + outcome.WakeAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private void RaiseWoke(BedtimeWatch watch) =>
        _events.Raise("bedtime.woke", watch.Scope, null, $"Bedtime Mode: {watch.Scope} woke at its wake time ({watch.Policy.SleepEnd:HH\\:mm} {watch.Policy.TimeZone}).");

    private void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var watch in _watches.Values)
        {
            if (watch.ExpireTrip(now))
            {
                RaiseWoke(watch);
            }
        }
    }

    private async ValueTask EnsureDayAsync(BedtimeWatch watch, GatewayState state, DateTimeOffset now, CancellationToken ct)
    {
        if (watch.IsCurrent(now))
        {
            return;
        }

        var keys = KeysOf(watch.Policy.Scope, state);

        // Once per scope and local day: the buffered usage records go to disk first so the sums include them.
        await _usage.FlushAsync(ct).ConfigureAwait(false);
        await watch.EnsureDayAsync(now, (from, to) => _history.SumAsync(keys, from, to, ct), ct).ConfigureAwait(false);
    }

    private static List<string> KeysOf(ScopeRef scope, GatewayState state)
    {
        if (scope.Kind == ScopeKind.Key)
        {
            return [scope.Id];
        }

        var keys = new List<string>();
        foreach (var key in state.Config.Keys)
        {
            if (key.Team == scope.Id)
            {
                keys.Add(key.Id);
            }
        }

        foreach (var key in state.StoredKeys)
        {
            if (key.Team == scope.Id)
            {
                keys.Add(key.Id);
            }
        }

        return keys;
    }

    private BedtimeWatch WatchOf(BedtimePolicy policy)
    {
        var scope = policy.Scope.ToString();
        if (_watches.TryGetValue(scope, out var watch) && ReferenceEquals(watch.Policy, policy))
        {
            return watch;
        }

        // A new or changed policy starts a fresh watch: the baseline and the threshold may have changed.
        var fresh = new BedtimeWatch(policy, BudgetWindows.TryFindZone(policy.TimeZone, out var zone) ? zone : TimeZoneInfo.Utc);
        return _watches.AddOrUpdate(scope, fresh, (_, existing) => ReferenceEquals(existing.Policy, policy) ? existing : fresh);
    }

    private Policies Refresh(PurserConfig config)
    {
        var policies = _policies;
        if (!ReferenceEquals(policies.Config, config))
        {
            // The file was reloaded: rebuild once, keeping the admin API's policies.
            policies = Build(config, policies.Stored);
            _policies = policies;
        }

        return policies;
    }

    private static Policies Build(PurserConfig config, IReadOnlyList<BedtimePolicy> stored)
    {
        var byScope = new Dictionary<string, BedtimePolicy>(StringComparer.Ordinal);
        foreach (var policy in stored)
        {
            byScope[policy.Scope.ToString()] = policy;
        }

        foreach (var policy in config.Bedtime)
        {
            byScope[policy.Scope.ToString()] = policy;
        }

        return new Policies(config, stored, byScope.ToFrozenDictionary(StringComparer.Ordinal));
    }

    private sealed record Policies(PurserConfig Config, IReadOnlyList<BedtimePolicy> Stored, FrozenDictionary<string, BedtimePolicy> ByScope);
}
