using Purser.RateLimits;

namespace Purser.Gateway.Budgets;

/// <summary>
/// This instance's slice of one shared bucket (<see cref="IRateLimitStore"/>): the units taken from it and not spent
/// yet, and what the shared bucket held after the last take (for the headers). Guarded by the limiter's lock.
/// </summary>
internal sealed class RateSliceAllowance
{
    public RateSliceAllowance(string bucket, long perMinute)
    {
        Bucket = bucket;
        PerMinute = perMinute;
    }

    public string Bucket { get; }

    public long PerMinute { get; private set; }

    /// <summary>Units this instance may spend without asking the database (negative after a settlement above the worst case).</summary>
    public long Local { get; set; }

    /// <summary>The shared bucket's whole units after this instance's last take.</summary>
    public long SharedLeft { get; private set; }

    public long LastUsedMs { get; private set; }

    /// <summary>What the caller is told is left: this instance's slice and what the shared bucket held at the last take.</summary>
    public long Remaining => Math.Clamp(Local + SharedLeft, 0, PerMinute);

    /// <summary>Milliseconds until the shared bucket would be full, from <see cref="Remaining"/>.</summary>
    public long FullInMs => ((PerMinute - Remaining) * TokenBucket.Scale + PerMinute - 1) / PerMinute;

    public static RateSliceAllowance? Sized(RateSliceAllowance? slice, string bucket, long? perMinute)
    {
        if (perMinute is not { } rate)
        {
            return null;
        }

        if (slice is null)
        {
            return new RateSliceAllowance(bucket, rate);
        }

        slice.PerMinute = rate;
        slice.Local = Math.Min(slice.Local, rate);
        return slice;
    }

    public void Take(long units, long nowMs)
    {
        Local -= units;
        LastUsedMs = nowMs;
    }

    public void Give(long units) => Local = Math.Min(PerMinute, Local + units);

    public void Add(RateSlice taken, long nowMs)
    {
        Local += taken.Granted;
        SharedLeft = taken.Left;
        LastUsedMs = nowMs;
    }
}
