using System.Globalization;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.RateLimits;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Enforces the rate limits on a request's path (organisation, team, key, task; those narrowed to another model
/// skipped) before anything is held on a budget, so a refused request leaves no trace in any budget. Every limit kind is
/// a <see cref="TokenBucket"/> of one minute's allowance on this instance's <see cref="TimeProvider"/>: requests take
/// 1, tokens take the request's worst case (settled to the actual usage when the request is charged), and a concurrency
/// cap counts requests in flight until their frame ends. All limits of a request are checked, then all taken, under one
/// lock: a request is admitted by every limit or by none.
/// <para>
/// With a shared store (several instances on PostgreSQL) the minute's allowance is one token bucket in the database per
/// limit and kind, and each instance spends slices of it (<see cref="RateSliceAllowance"/>): a request is admitted from
/// the instance's slice without a database round trip; only when the slice runs short does the instance take another
/// (a tenth of a minute's allowance, or what the request needs), and what it leaves idle for a second goes back
/// (<see cref="RateSliceReturns"/>). Concurrency caps stay per instance.
/// </para>
/// </summary>
internal sealed partial class RateLimiter
{
    private const long ConcurrencyRetryMs = 1000;

    /// <summary>A slice is this fraction of a minute's allowance (at least 1 unit, or what one request needs).</summary>
    private const long SliceDivisor = 10;

    private readonly TimeProvider _time;
    private readonly IRateLimitStore? _shared;
    private readonly object _gate = new();
    private readonly Dictionary<string, LimitState> _limits = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TokenBucket> _throttles = new(StringComparer.Ordinal);
    private GatewayState? _indexed;

    public RateLimiter(TimeProvider time, IRateLimitStore? shared = null)
    {
        _time = time;
        _shared = shared;
    }

    /// <summary>Whether the allowance is shared with other instances through the store.</summary>
    public bool Shared => _shared is not null;

    /// <summary>The milliseconds since the epoch on the limiter's clock.</summary>
    public long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Takes one request and <paramref name="worstTokens"/> from every limit that applies, or refuses with the limit the
    /// caller must wait longest for. Null ticket and no error when no limit applies.
    /// </summary>
    public async ValueTask<RateOutcome> AcquireAsync(GatewayState state, Keys.VirtualKey key, string? taskId, string alias, long worstTokens, string? endUser = null)
    {
        if (state.RateLimitsByScope.Count == 0)
        {
            return default;
        }

        var applicable = new List<Applicable>(4);
        Collect(applicable, state, "org:" + state.Config.Organization, alias);
        if (key.Team is { } team)
        {
            Collect(applicable, state, "team:" + team, alias);
        }

        Collect(applicable, state, "key:" + key.Id, alias);
        if (taskId is not null)
        {
            Collect(applicable, state, "task:" + taskId, alias);
        }

        if (endUser is not null)
        {
            CollectEndUser(applicable, state, key, endUser, alias);
        }

        if (applicable.Count == 0)
        {
            return default;
        }

        worstTokens = Math.Max(0, worstTokens);
        var (outcome, short_) = TryTake(state, applicable, worstTokens, NowMs, fetch: _shared is not null);
        if (short_ is null)
        {
            return outcome;
        }

        // A slice ran short: take more from the shared bucket (the only database round trip), then decide for good.
        foreach (var (slice, want) in short_)
        {
            await FetchAsync(slice, want).ConfigureAwait(false);
        }

        return TryTake(state, applicable, worstTokens, NowMs, fetch: false).Outcome;
    }

    /// <summary>
    /// Under the lock: admits the request from every limit, or refuses it, or (when <paramref name="fetch"/>) names
    /// the shared slices too short to decide, taking nothing.
    /// </summary>
    private (RateOutcome Outcome, List<(RateSliceAllowance Slice, long Want)>? Short) TryTake(GatewayState state, List<Applicable> applicable, long worstTokens, long now, bool fetch)
    {
        lock (_gate)
        {
            Prune(state);
            var limits = new LimitState[applicable.Count];
            LimitState? refusing = null;
            var refusingCode = GatewayErrorCode.ConcurrencyExceeded;
            var wait = 0L;
            List<(RateSliceAllowance, long)>? shortSlices = null;
            for (var i = 0; i < limits.Length; i++)
            {
                if (StateOf(applicable[i], now, state.Config.Server.MaxEndUsersPerBudget) is not { } known)
                {
                    // A user:* limit already counts as many end users as allowed, and this one is new: refuse (403).
                    return (new RateOutcome(null, TooManyEndUsers(applicable[i], state.Config.Server.MaxEndUsersPerBudget), RateStanding.None, applicable[i].Definition), null);
                }

                var limit = limits[i] = known;
                if (limit.Definition.MaxConcurrent is { } max && limit.InFlight >= max && ConcurrencyRetryMs > wait)
                {
                    (refusing, refusingCode, wait) = (limit, GatewayErrorCode.ConcurrencyExceeded, ConcurrencyRetryMs);
                }

                var requestWait = Wait(limit.Requests, limit.RequestSlice, 1, now, fetch, ref shortSlices);
                if (requestWait > wait)
                {
                    (refusing, refusingCode, wait) = (limit, GatewayErrorCode.RequestsPerMinuteExceeded, requestWait);
                }

                var tokenWait = Wait(limit.Tokens, limit.TokenSlice, worstTokens, now, fetch, ref shortSlices);
                if (tokenWait > wait)
                {
                    (refusing, refusingCode, wait) = (limit, GatewayErrorCode.TokensPerMinuteExceeded, tokenWait);
                }
            }

            if (shortSlices is not null && (refusing is null || refusingCode != GatewayErrorCode.ConcurrencyExceeded))
            {
                return (default, shortSlices);
            }

            if (refusing is not null)
            {
                return (new RateOutcome(null, Refusal(refusing, refusingCode, wait, worstTokens), StandingOf(limits, now), refusing.Definition), null);
            }

            foreach (var limit in limits)
            {
                limit.Requests?.Take(1, now);
                limit.Tokens?.Take(worstTokens, now);
                limit.RequestSlice?.Take(1, now);
                limit.TokenSlice?.Take(worstTokens, now);
                if (limit.Definition.MaxConcurrent is not null)
                {
                    limit.InFlight++;
                }
            }

            return (new RateOutcome(new RateTicket(this, limits, worstTokens), null, StandingOf(limits, now), null), null);
        }
    }

    /// <summary>Milliseconds until <paramref name="units"/> fit (0 when they do now); a short shared slice is listed instead when fetching.</summary>
    private static long Wait(TokenBucket? bucket, RateSliceAllowance? slice, long units, long now, bool fetch, ref List<(RateSliceAllowance, long)>? shortSlices)
    {
        if (bucket is not null)
        {
            return bucket.WaitMs(units, now);
        }

        if (slice is null || slice.Local >= units)
        {
            return 0;
        }

        if (units > slice.PerMinute)
        {
            return long.MaxValue;
        }

        if (fetch)
        {
            (shortSlices ??= []).Add((slice, Math.Max(units - slice.Local, Math.Max(1, slice.PerMinute / SliceDivisor))));
            return 0;
        }

        // The shared bucket refills the missing units in this long, if no other instance takes them first.
        return Math.Max(1, ((units - slice.Local) * TokenBucket.Scale + slice.PerMinute - 1) / slice.PerMinute);
    }

    private async ValueTask FetchAsync(RateSliceAllowance slice, long want)
    {
        RateSlice taken;
        try
        {
            taken = await _shared!.TakeAsync(slice.Bucket, slice.PerMinute, want, NowMs, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Purser.Budgets.LedgerUnavailableException)
        {
            // Fail closed, like the budget ledger: without the shared bucket this instance cannot know what is left.
            return;
        }

        lock (_gate)
        {
            slice.Add(taken, NowMs);
        }
    }

    /// <summary>
    /// Gives back to the shared buckets what this instance's slices left unused for <paramref name="idleMs"/> (all of it
    /// when 0, at shutdown), so that other instances can spend it.
    /// </summary>
    public async Task ReturnIdleAsync(long idleMs, CancellationToken ct)
    {
        if (_shared is null)
        {
            return;
        }

        var now = NowMs;
        var returns = new List<(string Bucket, long PerMinute, long Units)>();
        lock (_gate)
        {
            foreach (var limit in _limits.Values)
            {
                foreach (var slice in (ReadOnlySpan<RateSliceAllowance?>)[limit.RequestSlice, limit.TokenSlice])
                {
                    if (slice is not null && slice.Local > 0 && now - slice.LastUsedMs >= idleMs)
                    {
                        returns.Add((slice.Bucket, slice.PerMinute, Math.Min(slice.Local, slice.PerMinute)));
                        slice.Local = 0;
                    }
                }
            }
        }

        foreach (var (bucket, perMinute, units) in returns)
        {
            await _shared.GiveBackAsync(bucket, perMinute, units, now, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A soft budget past its cap with <c>throttle_rpm</c>: takes one request from the budget's throttle, or refuses.
    /// Returns the throttle's standing (requests figures) and the refusal, if any.
    /// </summary>
    public (long Remaining, long ResetMs, GatewayError? Error) Throttle(string budgetId, int rpm)
    {
        var now = NowMs;
        lock (_gate)
        {
            if (!_throttles.TryGetValue(budgetId, out var bucket))
            {
                _throttles[budgetId] = bucket = new TokenBucket(rpm, now);
            }
            else if (bucket.PerMinute != rpm)
            {
                bucket.Resize(rpm, now);
            }

            var wait = bucket.WaitMs(1, now);
            if (wait > 0)
            {
                var message = string.Create(CultureInfo.InvariantCulture, $"The budget '{budgetId}' is past its cap and throttled to {rpm} requests per minute; retry in {wait} ms.");
                return (0, bucket.FullInMs(now), new GatewayError(GatewayErrorCode.RequestsPerMinuteExceeded, message) { RetryAfterMs = wait });
            }

            bucket.Take(1, now);
            return (bucket.Remaining(now), bucket.FullInMs(now), null);
        }
    }

    /// <summary>Requests in flight under the cap of <paramref name="limitId"/> on this instance (0 when unknown).</summary>
    public int InFlight(string limitId)
    {
        lock (_gate)
        {
            return _limits.TryGetValue(limitId, out var limit) ? limit.InFlight : 0;
        }
    }

    internal void Settle(LimitState[] limits, long unusedTokens)
    {
        if (unusedTokens == 0)
        {
            return;
        }

        var now = NowMs;
        lock (_gate)
        {
            foreach (var limit in limits)
            {
                limit.Tokens?.Give(unusedTokens, now);
                limit.TokenSlice?.Give(unusedTokens);
            }
        }
    }

    internal void Release(LimitState[] limits)
    {
        lock (_gate)
        {
            foreach (var limit in limits)
            {
                if (limit.Definition.MaxConcurrent is not null && limit.InFlight > 0)
                {
                    limit.InFlight--;
                }
            }
        }
    }

    private static void Collect(List<Applicable> into, GatewayState state, string scope, string alias)
    {
        if (!state.RateLimitsByScope.TryGetValue(scope, out var limits))
        {
            return;
        }

        foreach (var limit in limits)
        {
            if (limit.AppliesTo(alias))
            {
                into.Add(new Applicable(limit, null));
            }
        }
    }

    private static GatewayError Refusal(LimitState limit, GatewayErrorCode code, long waitMs, long worstTokens)
    {
        var definition = limit.Definition;
        var model = definition.Model is { } alias ? " on " + alias : "";
        var message = code switch
        {
            GatewayErrorCode.RequestsPerMinuteExceeded => string.Create(CultureInfo.InvariantCulture,
                $"Rate limit '{definition.Id}' ({definition.Scope}{model}): {definition.RequestsPerMinute} requests per minute reached; retry in {waitMs} ms."),
            GatewayErrorCode.TokensPerMinuteExceeded when waitMs == long.MaxValue => string.Create(CultureInfo.InvariantCulture,
                $"Rate limit '{definition.Id}' ({definition.Scope}{model}): this request may use {worstTokens} tokens, more than the {definition.TokensPerMinute} tokens per minute allowed; lower max_tokens."),
            GatewayErrorCode.TokensPerMinuteExceeded => string.Create(CultureInfo.InvariantCulture,
                $"Rate limit '{definition.Id}' ({definition.Scope}{model}): {definition.TokensPerMinute} tokens per minute reached (this request may use {worstTokens}); retry in {waitMs} ms."),
            _ => string.Create(CultureInfo.InvariantCulture,
                $"Rate limit '{definition.Id}' ({definition.Scope}{model}): {definition.MaxConcurrent} requests already in flight; retry when one ends."),
        };

        // A request larger than a whole minute's tokens never fits: the caller is told to wait a full minute.
        var retryMs = waitMs == long.MaxValue ? TokenBucket.Scale : waitMs;
        return new GatewayError(code, message) { RetryAfterMs = retryMs };
    }

    private static RateStanding StandingOf(LimitState[] limits, long now)
    {
        var standing = RateStanding.None;
        foreach (var limit in limits)
        {
            if (limit.RequestSlice is { } requestSlice && requestSlice.Remaining is var sharedLeft && (!standing.HasRequests || sharedLeft < standing.RequestsRemaining))
            {
                standing = standing with { RequestLimit = requestSlice.PerMinute, RequestsRemaining = sharedLeft, RequestsResetMs = requestSlice.FullInMs };
            }

            if (limit.TokenSlice is { } tokenSlice && tokenSlice.Remaining is var sharedTokens && (!standing.HasTokens || sharedTokens < standing.TokensRemaining))
            {
                standing = standing with { TokenLimit = tokenSlice.PerMinute, TokensRemaining = sharedTokens, TokensResetMs = tokenSlice.FullInMs };
            }

            if (limit.Requests is { } requests && requests.Remaining(now) is var left && (!standing.HasRequests || left < standing.RequestsRemaining))
            {
                standing = standing with { RequestLimit = requests.PerMinute, RequestsRemaining = left, RequestsResetMs = requests.FullInMs(now) };
            }

            if (limit.Tokens is { } tokens && tokens.Remaining(now) is var tokensLeft && (!standing.HasTokens || tokensLeft < standing.TokensRemaining))
            {
                standing = standing with { TokenLimit = tokens.PerMinute, TokensRemaining = tokensLeft, TokensResetMs = tokens.FullInMs(now) };
            }
        }

        return standing;
    }

    private LimitState? StateOf(Applicable applicable, long now, int maxEndUsers)
    {
        var definition = applicable.Definition;
        var stateKey = applicable.EndUser is { } user ? EndUserStateKey(definition.Id, user) : definition.Id;
        if (!_limits.TryGetValue(stateKey, out var state))
        {
            if (applicable.EndUser is not null && !TryCountEndUser(definition.Id, maxEndUsers))
            {
                return null;
            }

            _limits[stateKey] = state = new LimitState(definition);
        }

        if (!ReferenceEquals(state.Definition, definition))
        {
            state.Definition = definition;
        }

        if (_shared is null)
        {
            state.Requests = Sized(state.Requests, definition.RequestsPerMinute, now);
            state.Tokens = Sized(state.Tokens, definition.TokensPerMinute, now);
        }
        else
        {
            state.RequestSlice = RateSliceAllowance.Sized(state.RequestSlice, stateKey + ":requests", definition.RequestsPerMinute);
            state.TokenSlice = RateSliceAllowance.Sized(state.TokenSlice, stateKey + ":tokens", definition.TokensPerMinute);
        }

        return state;
    }

    private static TokenBucket? Sized(TokenBucket? bucket, long? perMinute, long now)
    {
        if (perMinute is not { } rate)
        {
            return null;
        }

        if (bucket is null)
        {
            return new TokenBucket(rate, now);
        }

        if (bucket.PerMinute != rate)
        {
            bucket.Resize(rate, now);
        }

        return bucket;
    }

    /// <summary>A limit deleted from the configuration forgets its counters (tickets still hold their own state).</summary>
    private void Prune(GatewayState state)
    {
        if (ReferenceEquals(_indexed, state))
        {
            return;
        }

        _indexed = state;
        List<string>? gone = null;
        foreach (var (id, limit) in _limits)
        {
            // A user:* limit's per-end-user states go with their limit (their keys are not limit ids).
            if (!state.RateLimitIds.Contains(limit.Definition.Id))
            {
                (gone ??= []).Add(id);
            }
        }

        ForgetEndUserCounts(state);

        if (gone is not null)
        {
            foreach (var id in gone)
            {
                _limits.Remove(id);
            }
        }
    }

    /// <summary>One limit's buckets and in-flight count on this instance; guarded by the limiter's lock.</summary>
    internal sealed class LimitState
    {
        public LimitState(RateLimitDefinition definition)
        {
            Definition = definition;
        }

        public RateLimitDefinition Definition { get; set; }

        public TokenBucket? Requests { get; set; }

        public TokenBucket? Tokens { get; set; }

        /// <summary>With a shared store: this instance's slice of the shared requests bucket (instead of <see cref="Requests"/>).</summary>
        public RateSliceAllowance? RequestSlice { get; set; }

        /// <summary>With a shared store: this instance's slice of the shared tokens bucket (instead of <see cref="Tokens"/>).</summary>
        public RateSliceAllowance? TokenSlice { get; set; }

        public int InFlight { get; set; }
    }
}
