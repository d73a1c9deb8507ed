using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>How <see cref="LeasedBudgetLedger"/> sizes, renews and returns its leases.</summary>
public sealed record LeaseOptions
{
    /// <summary>Names this instance's lease holds ("lease:{instance}:{budget}@{window}:{n}"), so they are told apart in the database.</summary>
    public string InstanceId { get; init; } = "local";

    /// <summary>The largest slice of a counter's USD headroom one lease takes.</summary>
    public Money MaxLease { get; init; } = Money.FromUsd(1m);

    /// <summary>A lease takes at most headroom / Divisor, so several instances leave room for each other.</summary>
    public int Divisor { get; init; } = 8;

    /// <summary>Below this many worst cases of headroom (or when the slice is smaller than that), requests pass straight through as per-request holds.</summary>
    public int PassThroughWorstCases { get; init; } = 4;

    /// <summary>The lease hold's time to live; it is renewed at half of it, and a crashed instance's lease expires after it, charged in full.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A lease nobody drew from for this long is returned (settled at what was spent).</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the flush pass runs (renewals, idle returns, retried settlements); also the back-off after a lease was refused.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Settled local holds are remembered this long, so a repeated settle stays idempotent (the gateway settles each
    /// admission once, locally and synchronously, so a short memory suffices and bounds memory by rate × retention: about
    /// 15 MB at 13k requests/s).
    /// </summary>
    public TimeSpan SettledRetention { get; init; } = TimeSpan.FromSeconds(10);
}
