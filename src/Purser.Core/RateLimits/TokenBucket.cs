namespace Purser.RateLimits;

/// <summary>
/// A token bucket holding at most <see cref="PerMinute"/> units, refilled continuously at <see cref="PerMinute"/> per
/// minute, in exact integers: the level is kept in sixty-thousandths of a unit, so one elapsed millisecond adds exactly
/// <see cref="PerMinute"/> of them. A full bucket admits a burst of <see cref="PerMinute"/> units; after that, one unit
/// every 60000 / <see cref="PerMinute"/> ms. Not thread-safe: its owner locks.
/// </summary>
public sealed class TokenBucket
{
    /// <summary>Scale of <see cref="Level"/>: milliseconds per minute.</summary>
    public const long Scale = 60_000;

    private long _level;
    private long _updatedMs;

    public TokenBucket(long perMinute, long nowMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perMinute, RateLimitDefinition.MaxPerMinute);
        PerMinute = perMinute;
        _level = perMinute * Scale;
        _updatedMs = nowMs;
    }

    public long PerMinute { get; private set; }

    /// <summary>What is left, in sixty-thousandths of a unit (may be negative after a settlement above the worst case).</summary>
    public long Level => _level;

    /// <summary>Whole units available now.</summary>
    public long Remaining(long nowMs)
    {
        Refill(nowMs);
        return _level <= 0 ? 0 : _level / Scale;
    }

    /// <summary>Milliseconds until <paramref name="units"/> are available (0 when they are now); long.MaxValue when never.</summary>
    public long WaitMs(long units, long nowMs)
    {
        Refill(nowMs);
        if (units > PerMinute)
        {
            return long.MaxValue;
        }

        var missing = (units * Scale) - _level;
        return missing <= 0 ? 0 : (missing + PerMinute - 1) / PerMinute;
    }

    /// <summary>Milliseconds until the bucket is full again.</summary>
    public long FullInMs(long nowMs)
    {
        Refill(nowMs);
        var missing = (PerMinute * Scale) - _level;
        return missing <= 0 ? 0 : (missing + PerMinute - 1) / PerMinute;
    }

    /// <summary>Takes <paramref name="units"/>; the caller checked <see cref="WaitMs"/> first.</summary>
    public void Take(long units, long nowMs)
    {
        Refill(nowMs);
        _level -= units * Scale;
    }

    /// <summary>Gives back <paramref name="units"/> taken but not used (or takes more when negative), never above full.</summary>
    public void Give(long units, long nowMs)
    {
        Refill(nowMs);
        _level = Math.Min(PerMinute * Scale, _level + (units * Scale));
    }

    /// <summary>A changed limit keeps what was used: the level moves by the difference of the capacities.</summary>
    public void Resize(long perMinute, long nowMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perMinute, RateLimitDefinition.MaxPerMinute);
        Refill(nowMs);
        _level = Math.Min(perMinute * Scale, _level + ((perMinute - PerMinute) * Scale));
        PerMinute = perMinute;
    }

    private void Refill(long nowMs)
    {
        var elapsed = nowMs - _updatedMs;
        if (elapsed <= 0)
        {
            return;
        }

        _updatedMs = nowMs;

        // At most a minute refills a bucket from empty, and caps the product far below overflow.
        var full = PerMinute * Scale;
        var deficit = full - _level;
        if (deficit <= 0)
        {
            return;
        }

        var msToFull = (deficit + PerMinute - 1) / PerMinute;
        _level = elapsed >= msToFull ? full : _level + (elapsed * PerMinute);
    }
}
