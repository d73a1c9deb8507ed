using System.Globalization;
using System.Text;
using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>The runs as markdown tables: one row per run, then one per run and phase.</summary>
internal static class ScaleReport
{
    public static string Markdown(IReadOnlyList<ScaleResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| instances | ledger transactions/request away from caps (target ≤ 0.01) | the same without the expiry sweeps (time-driven) | false-refusal rate while room ≥ 100 W (target ≤ 1 %) | overshoot (must be 0) |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (var r in results)
        {
            var away = r.Phases[(int)ScalePhase.Away];
            var near = r.Phases[(int)ScalePhase.Near];
            var start = r.Phases[(int)ScalePhase.Start];
            var roomy = start.Requests + away.Requests + near.Requests;
            var falseRefusals = start.FalseRefusals + away.FalseRefusals + near.FalseRefusals;
            var falseRate = roomy == 0 ? 0 : 100.0 * falseRefusals / roomy;
            text.AppendLine(Invariant($"| {r.Instances} | {away.CallsPerRequest:F4} | {Ratio(away.LeaseCalls + away.PassThroughCalls, away.Requests):F4} | {falseRate:F3} % ({falseRefusals} of {roomy}) | {r.Overshoot} |"));
        }

        text.AppendLine();
        text.AppendLine("| instances | requests | seconds | requests/s | PostgreSQL transactions | transactions/request | rows written/request | peak connections | shutdown calls | retried settlements | key cap | key spent | overshoot | spent = Σ settled, nothing held |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            var key = r.Counters[0];
            text.AppendLine(Invariant(
                $"| {r.Instances} | {r.Requests} | {r.Seconds:F1} | {r.Requests / r.Seconds:F0} | {r.Transactions} | {Ratio(r.Transactions, r.Requests):F4} | {Ratio(r.RowsWritten, r.Requests):F4} | {r.PeakConnections} | {r.ShutdownCalls} | {r.RetriedSettlements} | {new Money(r.KeyCap)} | {new Money(key.Spent)} | {r.Overshoot} | {(r.Violations().Count == 0 ? "yes" : "NO")} |"));
        }

        text.AppendLine();
        text.AppendLine("| instances | phase | seconds | requests | granted | refused | false refusals | false-refusal rate | unavailable (503) | ledger transactions/request | of which lease / pass-through / sweep | admission p50 (µs) | admission p99 (µs) |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            foreach (var p in r.Phases)
            {
                text.AppendLine(Invariant(
                    $"| {r.Instances} | {Name(p.Phase)} | {p.Seconds:F1} | {p.Requests} | {p.Granted} | {p.Refused} | {p.FalseRefusals} | {p.FalseRefusalRate * 100:F2} % | {p.Unavailable} | {p.CallsPerRequest:F4} | {p.LeaseCalls} / {p.PassThroughCalls} / {p.SweepCalls} | {p.AdmissionP50Micros:F0} | {p.AdmissionP99Micros:F0} |"));
            }
        }

        foreach (var r in results)
        {
            foreach (var violation in r.Violations())
            {
                text.AppendLine(Invariant($"\n**{r.Instances} instances: {violation}**"));
            }
        }

        return text.ToString();
    }

    private static string Name(ScalePhase phase) => phase switch
    {
        ScalePhase.Start => "start (first 10 per loop)",
        ScalePhase.Away => "away (room ≥ cap / 2)",
        ScalePhase.Near => "near (100 W ≤ room < cap / 2)",
        ScalePhase.Closing => "closing (W ≤ room < 100 W)",
        _ => "past (room < W)",
    };

    private static double Ratio(long a, int b) => b == 0 ? 0 : (double)a / b;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
