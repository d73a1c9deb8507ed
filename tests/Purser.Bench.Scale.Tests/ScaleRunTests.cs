using Purser.Pricing;

namespace Purser.Bench.Scale.Tests;

/// <summary>
/// The scale driver run small against the test PostgreSQL: four gateway ledger stacks sharing three budgets, driven
/// past the caps. Only the invariants are asserted (no figures: they are the benchmark's, and timing-dependent).
/// </summary>
public sealed class ScaleRunTests
{
    private const string Variable = "PURSER_TEST_POSTGRES";

    [Fact]
    public async Task Four_ledgers_driven_past_shared_caps_never_overshoot_and_end_with_spent_equal_to_the_settled_costs()
    {
        var options = new ScaleOptions
        {
            ConnectionString = ServerConnectionString,
            Instances = 4,
            Requests = 600,
            Duration = TimeSpan.FromSeconds(120),
            ConcurrencyPerInstance = 3,
            MaxUpstream = TimeSpan.FromMilliseconds(1),
            PoolSize = 6,
            // Small leases, so that several are taken, renewed and returned in a short run.
            LeaseMax = Money.FromUsd(0.2m),
        };

        var result = await ScaleRun.RunAsync(options, TimeProvider.System, TextWriter.Null);

        Assert.Empty(result.Violations());
        Assert.Equal(0, result.Overshoot);
        Assert.Equal(0, result.OpenHolds);
        Assert.Equal(3, result.Counters.Count);
        foreach (var (budget, cap, spent, held) in result.Counters)
        {
            Assert.True(spent <= cap, $"{budget} spent {spent} over its cap {cap}");
            Assert.Equal(result.ShadowSpent, spent);
            Assert.Equal(0, held);
        }

        // The driver's own books add up: every request is counted in exactly one phase, and the run went past the cap.
        Assert.Equal(result.Requests, result.Phases.Sum(p => p.Requests));
        Assert.Equal(result.Requests, result.Phases.Sum(p => p.Granted + p.Refused + p.Unavailable));
        Assert.True(result.Phases.Sum(p => p.Refused) > 0, "the run was meant to reach the caps");
        Assert.True(result.ShadowSpent > 0);
    }

    private static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Variable} is not set: run ./scripts/test.sh, which starts a temporary PostgreSQL and sets it.");
}
