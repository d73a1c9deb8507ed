using Purser.Usage;

namespace Purser.Gateway.Dashboard;

/// <summary>
/// Spend per time bucket (hour or day, UTC) and per group (key or model) for the overview's stacked bar chart, from the
/// hourly roll-ups (an hour falls wholly in one bucket of either size). The five largest groups are drawn, the rest
/// summed as "other", so the legend stays readable.
/// </summary>
internal sealed class SpendSeries
{
    public const int MaxGroups = 5;

    private SpendSeries(DateTimeOffset[] starts, string[] groups, long[,] nano)
    {
        Starts = starts;
        Groups = groups;
        Nano = nano;
    }

    /// <summary>Before the data is read: the first render of an async component happens before it completes.</summary>
    public static SpendSeries Empty { get; } = new([], [], new long[0, 0]);

    public DateTimeOffset[] Starts { get; }

    public string[] Groups { get; }

    /// <summary>[bucket, group] in nano-USD.</summary>
    public long[,] Nano { get; }

    public static SpendSeries Of(IReadOnlyList<UsageRollup> rollups, DateTimeOffset now, bool byHour, bool byModel)
    {
        var step = byHour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        var count = byHour ? 24 : 30;
        var utc = now.ToUniversalTime();
        var current = byHour ? new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero) : new DateTimeOffset(utc.Date, TimeSpan.Zero);
        var first = current - (step * (count - 1));
        var starts = new DateTimeOffset[count];
        for (var i = 0; i < count; i++)
        {
            starts[i] = first + (step * i);
        }

        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in rollups)
        {
            if (r.HourStart >= first)
            {
                var group = byModel ? r.ModelAlias : r.KeyId;
                totals[group] = totals.GetValueOrDefault(group) + r.Cost.NanoUsd;
            }
        }

        var top = totals.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key).Take(MaxGroups).ToList();
        var hasOther = totals.Count > MaxGroups;
        var groups = hasOther ? [.. top, "other"] : top.ToArray();
        var nano = new long[count, groups.Length];
        foreach (var r in rollups)
        {
            if (r.HourStart < first)
            {
                continue;
            }

            var bucket = (int)((r.HourStart - first) / step);
            if (bucket >= count)
            {
                continue;
            }

            var index = top.IndexOf(byModel ? r.ModelAlias : r.KeyId);
            nano[bucket, index >= 0 ? index : groups.Length - 1] += r.Cost.NanoUsd;
        }

        return new SpendSeries(starts, groups, nano);
    }

    public long Total(int bucket)
    {
        long sum = 0;
        for (var g = 0; g < Groups.Length; g++)
        {
            sum += Nano[bucket, g];
        }

        return sum;
    }
}
