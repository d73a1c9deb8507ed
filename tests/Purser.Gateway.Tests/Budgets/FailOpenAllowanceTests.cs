using Microsoft.Extensions.Time.Testing;
using Purser.Gateway.Budgets;
using Purser.Pricing;

namespace Purser.Gateway.Tests.Budgets;

public sealed class FailOpenAllowanceTests
{
    private static readonly Money Cap = Money.FromUsd(1m);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Worst_cases_are_held_until_the_local_cap_then_refused()
    {
        var allowance = new FailOpenAllowance(Cap, _time);

        Assert.True(allowance.TryHold(Money.FromUsd(0.4m)));
        Assert.True(allowance.TryHold(Money.FromUsd(0.6m)));
        Assert.False(allowance.TryHold(Money.FromNano(1)));
        Assert.Equal(Cap, allowance.Held);
    }

    [Fact]
    public void A_worst_case_larger_than_the_local_cap_is_refused()
    {
        var allowance = new FailOpenAllowance(Cap, _time);

        Assert.False(allowance.TryHold(Money.FromUsd(1.01m)));
        Assert.Equal(Money.Zero, allowance.Held);
    }

    [Fact]
    public void Settling_releases_the_worst_case_and_keeps_only_the_actual_cost_for_the_rest_of_the_outage()
    {
        var allowance = new FailOpenAllowance(Cap, _time);
        Assert.True(allowance.TryHold(Money.FromUsd(0.8m)));
        Assert.False(allowance.TryHold(Money.FromUsd(0.5m)));

        allowance.Settle(Money.FromUsd(0.8m), Money.FromUsd(0.3m));

        Assert.Equal(Money.Zero, allowance.Held);
        Assert.Equal(Money.FromUsd(0.3m), allowance.Spent);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(allowance.TryHold(Money.FromUsd(0.7m)));
        Assert.False(allowance.TryHold(Money.FromNano(1)));
    }

    [Fact]
    public void Failures_closer_together_than_the_outage_gap_share_one_allowance()
    {
        var allowance = new FailOpenAllowance(Cap, _time);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(allowance.TryHold(Money.FromUsd(0.1m)));
            allowance.Settle(Money.FromUsd(0.1m), Money.FromUsd(0.1m));
            _time.Advance(FailOpenAllowance.OutageGap - TimeSpan.FromSeconds(1));
        }

        Assert.False(allowance.TryHold(Money.FromNano(1)));
    }

    [Fact]
    public void A_new_outage_after_the_gap_starts_with_a_fresh_allowance_but_running_requests_keep_their_holds()
    {
        var allowance = new FailOpenAllowance(Cap, _time);
        Assert.True(allowance.TryHold(Money.FromUsd(0.6m)));
        allowance.Settle(Money.FromUsd(0.6m), Money.FromUsd(0.6m));
        Assert.True(allowance.TryHold(Money.FromUsd(0.3m)));

        _time.Advance(FailOpenAllowance.OutageGap);

        Assert.True(allowance.TryHold(Money.FromUsd(0.7m)));
        Assert.False(allowance.TryHold(Money.FromNano(1)));
        Assert.Equal(Money.Zero, allowance.Spent);
    }

    [Fact]
    public void Concurrent_holds_never_exceed_the_local_cap()
    {
        var allowance = new FailOpenAllowance(Cap, _time);
        var worstCase = Money.FromUsd(0.01m);
        var granted = 0;
        Parallel.For(0, 1_000, _ =>
        {
            if (allowance.TryHold(worstCase))
            {
                Interlocked.Increment(ref granted);
            }
        });

        Assert.Equal(100, granted);
        Assert.Equal(Cap, allowance.Held);
    }
}
