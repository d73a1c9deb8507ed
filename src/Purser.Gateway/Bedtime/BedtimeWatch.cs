using Purser.Bedtime;
using Purser.Pricing;

namespace Purser.Gateway.Bedtime;

/// <summary>
/// One watched scope: its policy, today's spend (loaded from the usage records once per local day, then kept current as
/// requests settle), the baseline (computed once per local day), and whether it is tripped or was woken for tonight.
/// </summary>
internal sealed class BedtimeWatch : IDisposable
{
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _loading = new(1, 1);
    private DateOnly _day;
    private bool _loaded;
    private long _todayNano;
    private Money _baseline;
    private DateTimeOffset? _trippedUntil;
    private DateTimeOffset? _wokenUntil;

    public BedtimeWatch(BedtimePolicy policy, TimeZoneInfo zone)
    {
        Policy = policy;
        Zone = zone;
    }

    public BedtimePolicy Policy { get; }

    public TimeZoneInfo Zone { get; }

    public string Scope => Policy.Scope.ToString();

    /// <summary>Whether the local day of <paramref name="now"/> is the one loaded (the request path's fast check).</summary>
    public bool IsCurrent(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _loaded && _day == DateOnly.FromDateTime(BedtimeClock.Local(Zone, now));
        }
    }

    /// <summary>Loads today's spend and the baseline for the local day of <paramref name="now"/>, once per day.</summary>
    public async ValueTask EnsureDayAsync(DateTimeOffset now, Func<DateTimeOffset, DateTimeOffset, Task<Money>> sum, CancellationToken ct)
    {
        if (IsCurrent(now))
        {
            return;
        }

        await _loading.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (IsCurrent(now))
            {
                return;
            }

            var (day, start, _) = BedtimeClock.Today(Zone, now);
            var (from, to) = BedtimeClock.BaselineRange(Zone, day, Policy.BaselineDays);
            var history = await sum(from, to).ConfigureAwait(false);

            // Up to the far end of today: settlements stamped a moment after "now" are in the records too.
            var today = await sum(start, BedtimeClock.StartOf(Zone, day.AddDays(1))).ConfigureAwait(false);
            lock (_gate)
            {
                _day = day;
                _baseline = BedtimeClock.Mean(history, Policy.BaselineDays);
                _todayNano = today.NanoUsd;
                _loaded = true;
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>A request of this scope settled: today's spend grows (ignored when the day is not loaded: the records will have it).</summary>
    public void Add(Money cost, DateTimeOffset now)
    {
        if (cost.NanoUsd == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_loaded && _day == DateOnly.FromDateTime(BedtimeClock.Local(Zone, now)))
            {
                _todayNano += cost.NanoUsd;
            }
        }
    }

    /// <summary>Decides for a request at <paramref name="now"/>; trips the scope when tonight's spend crossed the threshold.</summary>
    public BedtimeOutcome Evaluate(DateTimeOffset now)
    {
        lock (_gate)
        {
            var woke = ExpireTrip(now);
            var sleeping = BedtimeClock.IsSleeping(Policy, Zone, now, out var wakeAt);
            var threshold = BedtimeClock.Threshold(Policy, _baseline);
            var spent = Money.FromNano(_todayNano);
            if (!sleeping || (_wokenUntil is { } woken && now < woken))
            {
                return new BedtimeOutcome(false, false, woke, wakeAt, spent, threshold, _baseline);
            }

            if (_trippedUntil is { } until)
            {
                return new BedtimeOutcome(true, false, woke, until, spent, threshold, _baseline);
            }

            if (_loaded && spent >= threshold)
            {
                _trippedUntil = wakeAt;
                return new BedtimeOutcome(true, true, woke, wakeAt, spent, threshold, _baseline);
            }

            return new BedtimeOutcome(false, false, woke, wakeAt, spent, threshold, _baseline);
        }
    }

    /// <summary>The wake time passed: true once, when a trip ended by itself.</summary>
    public bool ExpireTrip(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_trippedUntil is { } until && now >= until)
            {
                _trippedUntil = null;
                return true;
            }

            return false;
        }
    }

    /// <summary>An operator wakes the scope: not tripped, and not tripped again before tonight's wake time. True when it was tripped.</summary>
    public bool Wake(DateTimeOffset now)
    {
        lock (_gate)
        {
            var wasTripped = _trippedUntil is { } until && now < until;
            _trippedUntil = null;
            _wokenUntil = BedtimeClock.IsSleeping(Policy, Zone, now, out var wakeAt) ? wakeAt : null;
            return wasTripped;
        }
    }

    /// <summary>A snapshot for the admin API.</summary>
    public (bool Loaded, Money Today, Money Baseline, DateTimeOffset? TrippedUntil, DateTimeOffset? WokenUntil) Snapshot()
    {
        lock (_gate)
        {
            return (_loaded, Money.FromNano(_todayNano), _baseline, _trippedUntil, _wokenUntil);
        }
    }

    public void Dispose() => _loading.Dispose();
}
