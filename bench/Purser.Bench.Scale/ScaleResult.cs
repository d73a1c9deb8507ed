namespace Purser.Bench.Scale;

/// <summary>One run's figures and the invariants it checked at the end.</summary>
internal sealed record ScaleResult
{
    public required int Instances { get; init; }

    public required int Requests { get; init; }

    public required double Seconds { get; init; }

    public required IReadOnlyList<PhaseResult> Phases { get; init; }

    /// <summary>Database calls after the last request (returning the leases at shutdown).</summary>
    public required long ShutdownCalls { get; init; }

    /// <summary>pg_stat_database over the run (start-up after the migrations, load, shutdown), the driver's own reads left out.</summary>
    public required long Transactions { get; init; }

    public required long RowsWritten { get; init; }

    public required long PeakConnections { get; init; }

    public required long KeyCap { get; init; }

    /// <summary>Σ actual costs of the settled requests, by the driver's shadow account.</summary>
    public required long ShadowSpent { get; init; }

    /// <summary>The budgets' counters at the end, read from PostgreSQL: key, team, org.</summary>
    public required IReadOnlyList<(string Budget, long Cap, long Spent, long Held)> Counters { get; init; }

    public required long OpenHolds { get; init; }

    /// <summary>Settlements PostgreSQL did not take at once, retried by SettlementRetry before the instance closed.</summary>
    public required int RetriedSettlements { get; init; }

    /// <summary>The largest amount by which a counter's spent exceeds its cap (0 in reserve mode).</summary>
    public long Overshoot => Counters.Max(c => Math.Max(0, c.Spent - c.Cap));

    /// <summary>Broken invariants: empty when the run is sound.</summary>
    public IReadOnlyList<string> Violations()
    {
        var violations = new List<string>();
        foreach (var (budget, cap, spent, held) in Counters)
        {
            if (spent > cap)
            {
                violations.Add($"{budget}: spent {spent} exceeds its cap {cap}");
            }

            if (spent != ShadowSpent)
            {
                violations.Add($"{budget}: spent {spent} differs from the settled costs {ShadowSpent}");
            }

            if (held != 0)
            {
                violations.Add($"{budget}: {held} still held after the run");
            }
        }

        if (OpenHolds != 0)
        {
            violations.Add($"{OpenHolds} holds left open after the run");
        }

        return violations;
    }
}
