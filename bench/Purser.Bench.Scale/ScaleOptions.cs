using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>One scale run: how many gateway ledgers, how much load, and the seeded cost distribution.</summary>
internal sealed record ScaleOptions
{
    /// <summary>A database on the server; the run creates a schema of its own in it and drops it at the end.</summary>
    public required string ConnectionString { get; init; }

    public int Instances { get; init; } = 16;

    /// <summary>The count bound: at most this many requests in the run.</summary>
    public int Requests { get; init; } = 100_000;

    /// <summary>The time bound: no request starts after this.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Requests each instance has in flight at once (its request loops).</summary>
    public int ConcurrencyPerInstance { get; init; } = 4;

    public int Seed { get; init; } = 18;

    /// <summary>Worst cases are log-uniform between these; the actual cost is a uniform 5–100 % of the worst case.</summary>
    public Money WorstMin { get; init; } = Money.FromUsd(0.001m);

    public Money WorstMax { get; init; } = Money.FromUsd(0.05m);

    /// <summary>The key budget's cap as a fraction of the planned requests' total actual cost (team: 1.25×, org: 1.5× that).</summary>
    public double CapFraction { get; init; } = 0.7;

    /// <summary>The simulated upstream time between admission and settlement: uniform 0..this.</summary>
    public TimeSpan MaxUpstream { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>storage.lease_max_usd; null keeps the gateway's default.</summary>
    public Money? LeaseMax { get; init; }

    /// <summary>Each instance's connection pool bound (Max Pool Size in its connection string).</summary>
    public int PoolSize { get; init; } = 8;

    /// <summary>The gateway's expiry sweep period (LedgerSweep).</summary>
    public TimeSpan SweepPeriod { get; init; } = TimeSpan.FromSeconds(5);
}
