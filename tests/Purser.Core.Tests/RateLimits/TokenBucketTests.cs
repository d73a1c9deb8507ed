using CsCheck;
using Purser.RateLimits;

namespace Purser.Core.Tests.RateLimits;

public sealed class TokenBucketTests
{
    [Fact]
    public void A_full_bucket_admits_a_minute_then_one_unit_per_refill_interval()
    {
        var bucket = new TokenBucket(60, 0);
        for (var i = 0; i < 60; i++)
        {
            Assert.Equal(0, bucket.WaitMs(1, 0));
            bucket.Take(1, 0);
        }

        Assert.Equal(1000, bucket.WaitMs(1, 0));
        Assert.Equal(60_000, bucket.FullInMs(0));
        Assert.Equal(1, bucket.WaitMs(1, 999));
        Assert.Equal(0, bucket.WaitMs(1, 1000));
        Assert.Equal(60, bucket.Remaining(60_000));
        Assert.Equal(60, bucket.Remaining(10_000_000));
        Assert.Equal(long.MaxValue, bucket.WaitMs(61, 10_000_000));
    }

    [Fact]
    public void Give_back_never_overfills_and_resize_keeps_what_was_used()
    {
        var bucket = new TokenBucket(100, 0);
        bucket.Take(80, 0);
        bucket.Give(200, 0);
        Assert.Equal(100, bucket.Remaining(0));
        bucket.Take(30, 0);
        bucket.Resize(50, 0);
        Assert.Equal(20, bucket.Remaining(0));
    }

    /// <summary>
    /// Over any run of takes (each only when <see cref="TokenBucket.WaitMs"/> says 0), what was taken in any window of
    /// T ms never exceeds a minute's worth plus T ms of refill: the token bucket's bound.
    /// </summary>
    [Fact]
    public void Takes_never_exceed_the_token_bucket_bound()
    {
        Gen.Select(Gen.Long[1, 5000], Gen.Select(Gen.Long[0, 3000], Gen.Long[1, 400]).Array[1, 200])
            .Sample((perMinute, steps) =>
            {
                var bucket = new TokenBucket(perMinute, 0);
                var now = 0L;
                var taken = new List<(long At, long Units)>();
                foreach (var (advance, units) in steps)
                {
                    now += advance;
                    if (bucket.WaitMs(units, now) == 0)
                    {
                        bucket.Take(units, now);
                        taken.Add((now, units));
                    }
                }

                for (var i = 0; i < taken.Count; i++)
                {
                    var sum = 0L;
                    for (var j = i; j < taken.Count; j++)
                    {
                        sum += taken[j].Units;
                        var span = taken[j].At - taken[i].At;

                        // Sixty-thousandths: perMinute units per 60000 ms, exactly.
                        if (sum * TokenBucket.Scale > (perMinute * TokenBucket.Scale) + (span * perMinute))
                        {
                            return false;
                        }
                    }
                }

                return true;
            }, iter: 300);
    }
}
