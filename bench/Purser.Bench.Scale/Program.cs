using System.Globalization;
using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>
/// The scale benchmark (bench/scale.sh runs it): N gateway ledgers in one process on one PostgreSQL database, for each
/// N given, then the markdown tables on stdout. Exits 1 when a run broke an invariant (overshoot, spent ≠ Σ settled
/// costs, holds left open), 2 on bad arguments.
/// <code>
/// Purser.Bench.Scale --postgres "Host=127.0.0.1;Port=5432;Username=postgres;Database=purser_bench" --instances 16,64
///   [--requests 100000] [--seconds 120] [--concurrency 4] [--seed 18] [--upstream-ms 5] [--lease-max-usd 1] [--pool 8] [--cap-percent 70]
/// </code>
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!TryParse(args, out var options, out var instances, out var error))
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return 2;
        }

        var results = new List<ScaleResult>();
        foreach (var n in instances)
        {
            var result = await ScaleRun.RunAsync(options with { Instances = n }, TimeProvider.System, Console.Error).ConfigureAwait(false);
            results.Add(result);
            await Console.Error.WriteLineAsync(ScaleReport.Markdown([result])).ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(ScaleReport.Markdown(results)).ConfigureAwait(false);
        return results.Any(r => r.Violations().Count > 0) ? 1 : 0;
    }

    private static bool TryParse(string[] args, out ScaleOptions options, out int[] instances, out string error)
    {
        options = new ScaleOptions { ConnectionString = "" };
        instances = [16, 64];
        error = "";
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            var ok = true;
            switch (args[i])
            {
                case "--postgres": options = options with { ConnectionString = value }; break;
                case "--instances":
                    instances = value.Split(',').Select(v => int.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : 0).ToArray();
                    ok = instances.All(n => n > 0);
                    break;
                case "--requests": ok = Int(value, out var requests); options = options with { Requests = requests }; break;
                case "--seconds": ok = Int(value, out var seconds); options = options with { Duration = TimeSpan.FromSeconds(seconds) }; break;
                case "--concurrency": ok = Int(value, out var concurrency); options = options with { ConcurrencyPerInstance = concurrency }; break;
                case "--seed": ok = Int(value, out var seed); options = options with { Seed = seed }; break;
                case "--upstream-ms": ok = Int(value, out var upstream); options = options with { MaxUpstream = TimeSpan.FromMilliseconds(upstream) }; break;
                case "--pool": ok = Int(value, out var pool); options = options with { PoolSize = pool }; break;
                case "--cap-percent": ok = Int(value, out var percent) && percent > 0; options = options with { CapFraction = percent / 100.0 }; break;
                case "--lease-max-usd":
                    ok = Money.TryParseUsd(value, out var max) && max.NanoUsd > 0;
                    options = options with { LeaseMax = max };
                    break;
                default: ok = false; break;
            }

            if (!ok)
            {
                error = $"bad argument {args[i]} {value}";
                return false;
            }
        }

        if (args.Length % 2 != 0 || options.ConnectionString.Length == 0)
        {
            error = "usage: Purser.Bench.Scale --postgres <connection string> [--instances 16,64] [--requests N] [--seconds S] "
                + "[--concurrency C] [--seed N] [--upstream-ms N] [--lease-max-usd USD] [--pool N] [--cap-percent P]";
            return false;
        }

        return true;
    }

    private static bool Int(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 0;
}
