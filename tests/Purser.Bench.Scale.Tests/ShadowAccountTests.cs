namespace Purser.Bench.Scale.Tests;

/// <summary>The shadow account's rule for a false refusal: the cap had room for the request throughout its admission.</summary>
public sealed class ShadowAccountTests
{
    [Fact]
    public void A_refusal_with_room_throughout_the_admission_is_false()
    {
        var shadow = new ShadowAccount(tightestCap: 1_000, largestWorstCase: 10, maxRequests: 8, startRequests: 0);
        var (mark, phase) = shadow.Begin(100);

        Assert.Equal(ScalePhase.Away, phase);
        Assert.True(shadow.Refused(mark, 100));
    }

    [Fact]
    public void A_refusal_is_not_false_when_a_concurrent_admission_took_the_room_during_it_even_if_that_one_was_refused_later()
    {
        var shadow = new ShadowAccount(tightestCap: 1_000, largestWorstCase: 10, maxRequests: 8, startRequests: 0);
        var (first, _) = shadow.Begin(600);
        var (second, _) = shadow.Begin(600);

        // While both were in admission the cap could not take both: whichever the ledger refused was right.
        Assert.False(shadow.Refused(second, 600));
        Assert.False(shadow.Refused(first, 600));
    }

    [Fact]
    public void Settled_costs_return_the_unused_worst_case_and_the_phase_only_moves_forward()
    {
        var shadow = new ShadowAccount(tightestCap: 1_000, largestWorstCase: 10, maxRequests: 8, startRequests: 0);
        var (_, phase) = shadow.Begin(950);
        Assert.Equal(ScalePhase.Away, phase);
        shadow.Granted(950);

        var (mark, closing) = shadow.Begin(40);
        Assert.Equal(ScalePhase.Closing, closing);
        // 50 of room for a worst case of 40: refusing it was false, near the cap too.
        Assert.True(shadow.Refused(mark, 40));

        shadow.Settled(950, 100);
        Assert.Equal(100, shadow.Spent);
        Assert.Equal(0, shadow.Outstanding);

        // 900 of room again, but the run already came close to the cap: its phase stays.
        var (_, later) = shadow.Begin(10);
        Assert.Equal(ScalePhase.Closing, later);
    }
}
