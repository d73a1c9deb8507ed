using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>
/// The run's requests, drawn from the seeded distribution before it starts (so every N sees the same sequence): worst
/// cases log-uniform between the bounds, actual costs a uniform 5–100 % of them, upstream times uniform; and the three
/// budgets' caps, from the planned spend.
/// </summary>
internal sealed class ScalePlan
{
    private ScalePlan(long[] worst, long[] actual, int[] upstreamMicros, long keyCap)
    {
        Worst = worst;
        Actual = actual;
        UpstreamMicros = upstreamMicros;
        KeyCap = keyCap;
    }

    public long[] Worst { get; }

    public long[] Actual { get; }

    public int[] UpstreamMicros { get; }

    /// <summary>The key budget's cap, the tightest; the team's is 1.25× and the org's 1.5× it.</summary>
    public long KeyCap { get; }

    public long TeamCap => KeyCap + (KeyCap / 4);

    public long OrgCap => KeyCap + (KeyCap / 2);

    public static ScalePlan Create(ScaleOptions options)
    {
        // A benchmark's seeded draw, not a secret.
#pragma warning disable CA5394
        var random = new Random(options.Seed);
        var worst = new long[options.Requests];
        var actual = new long[options.Requests];
        var upstream = new int[options.Requests];
        var low = Math.Log(options.WorstMin.NanoUsd);
        var high = Math.Log(options.WorstMax.NanoUsd);
        var maxUpstream = (int)options.MaxUpstream.TotalMicroseconds;
        long total = 0;
        for (var i = 0; i < worst.Length; i++)
        {
            worst[i] = Math.Clamp((long)Math.Exp(low + (random.NextDouble() * (high - low))), options.WorstMin.NanoUsd, options.WorstMax.NanoUsd);
            actual[i] = Math.Min(worst[i], (long)(worst[i] * (0.05 + (0.95 * random.NextDouble()))));
            upstream[i] = maxUpstream == 0 ? 0 : random.Next(maxUpstream + 1);
            total += actual[i];
        }
#pragma warning restore CA5394

        return new ScalePlan(worst, actual, upstream, (long)(total * options.CapFraction));
    }

    /// <summary>The request's three lines, as the gateway builds them for a key in a team in an org, reserve mode, hard caps.</summary>
    public HoldLine[] Lines(string window) =>
    [
        new HoldLine(new CounterKey("bench-key", window), new Money(KeyCap), null, AccountingMode.Reserve, Enforcement.Hard),
        new HoldLine(new CounterKey("bench-team", window), new Money(TeamCap), null, AccountingMode.Reserve, Enforcement.Hard),
        new HoldLine(new CounterKey("bench-org", window), new Money(OrgCap), null, AccountingMode.Reserve, Enforcement.Hard),
    ];
}
