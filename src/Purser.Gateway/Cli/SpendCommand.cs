using System.CommandLine;
using System.Globalization;
using Purser.Pricing;

namespace Purser.Gateway.Cli;

/// <summary>
/// <c>purser spend</c>: what was spent in a period (today, this month — both UTC — or --from/--to, in whole UTC hours),
/// by key and by model, summed from the gateway's hourly roll-ups (<c>GET /admin/usage/rollups</c>) in exact nano-USD.
/// The roll-ups count every request however many there were and outlive the records' retention.
/// </summary>
internal static class SpendCommand
{
    public static Command Create(Option<string?> url, Option<string?> adminKey)
    {
        var period = new Option<string>("--period") { Description = "today or month (UTC), unless --from is given.", DefaultValueFactory = _ => "today" };
        period.AcceptOnlyFromAmong("today", "month");
        var from = new Option<DateTimeOffset?>("--from") { Description = "Start (ISO 8601, inclusive)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End (ISO 8601, exclusive; default now)." };
        var spend = new Command("spend", "Spend report by key and by model for a period.") { period, from, to };
        spend.Options.Add(url);
        spend.Options.Add(adminKey);
        spend.SetAction((parse, ct) => OperatorCommands.WithClientAsync(parse, async client =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var start = parse.GetValue(from) ?? (parse.GetValue(period) == "month"
                ? new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero)
                : new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero));
            var end = parse.GetValue(to);
            var query = "admin/usage/rollups?from=" + Uri.EscapeDataString(Iso(start));
            if (end is { } e)
            {
                query += "&to=" + Uri.EscapeDataString(Iso(e));
            }

            var (body, error) = await client.GetAsync(query, ct).ConfigureAwait(false);
            if (error is not null)
            {
                return await OperatorCommands.FailAsync(error).ConfigureAwait(false);
            }

            var byKey = new SortedDictionary<string, Totals>(StringComparer.Ordinal);
            var byModel = new SortedDictionary<string, Totals>(StringComparer.Ordinal);
            var all = new Totals();
            foreach (var r in OperatorCommands.Data(body))
            {
                var requests = r["requests"]?.GetValue<long>() ?? 0;
                var cost = Money.TryParseUsd(OperatorCommands.Text(r, "cost_usd"), out var c) ? c : Money.Zero;
                var input = r["input_tokens"]?.GetValue<long>() ?? 0;
                var output = r["output_tokens"]?.GetValue<long>() ?? 0;
                Add(byKey, OperatorCommands.Text(r, "key_id") ?? "-", requests, cost, input, output);
                Add(byModel, OperatorCommands.Text(r, "model") ?? "-", requests, cost, input, output);
                all.Add(requests, cost, input, output);
            }

            Console.WriteLine($"Spend from {Iso(start)} to {(end is { } until ? Iso(until) : "now")} (USD)");
            Console.WriteLine();
            Console.Write(Table("KEY", byKey, all));
            Console.WriteLine();
            Console.Write(Table("MODEL", byModel, all));
            return 0;
        }));
        return spend;
    }

    private static string Table(string by, SortedDictionary<string, Totals> rows, Totals all)
    {
        var table = new TextTable(by, "REQUESTS", "INPUT_TOKENS", "OUTPUT_TOKENS", "COST_USD").AlignRight("REQUESTS", "INPUT_TOKENS", "OUTPUT_TOKENS", "COST_USD");
        foreach (var (name, t) in rows)
        {
            table.Add(name, N(t.Requests), N(t.Input), N(t.Output), Usd(t.Cost));
        }

        table.Add("TOTAL", N(all.Requests), N(all.Input), N(all.Output), Usd(all.Cost));
        return table.ToString();
    }

    private static void Add(SortedDictionary<string, Totals> rows, string name, long requests, Money cost, long input, long output)
    {
        if (!rows.TryGetValue(name, out var totals))
        {
            totals = new Totals();
            rows[name] = totals;
        }

        totals.Add(requests, cost, input, output);
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Exact dollars, at least to the cent: 0.000123 stays 0.000123, 2 reads 2.00.</summary>
    private static string Usd(Money cost)
    {
        var text = cost.ToString();
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? text + ".00" : text.Length - dot == 2 ? text + "0" : text;
    }

    private sealed class Totals
    {
        public long Requests { get; private set; }

        public long Input { get; private set; }

        public long Output { get; private set; }

        public Money Cost { get; private set; }

        public void Add(long requests, Money cost, long input, long output)
        {
            Requests += requests;
            Input += input;
            Output += output;
            Cost += cost;
        }
    }
}
