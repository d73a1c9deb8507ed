using Purser.Pricing;
using Purser.Store.Postgres.Bedtime;
using Purser.Store.Postgres.Usage;
using Purser.Usage;

namespace Purser.Store.Postgres.Tests.Stores;

/// <summary>
/// The hourly roll-ups on PostgreSQL: the sums of the records of every instance (two writing the same rows at once,
/// replays counted once), unchanged by pruning in batches, and what spend sums read for pruned time.
/// </summary>
public sealed class PostgresUsageRollupTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private TestSchema _schema = null!;
    private PostgresDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _schema = await TestSchema.CreateAsync();
        _db = PostgresDatabase.Open(_schema.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await _schema.DisposeAsync();
    }

    [Fact]
    public async Task Two_instances_writing_the_same_rollups_sum_every_record_once_and_pruning_keeps_the_totals()
    {
        var random = new Random(11);
        var records = new List<UsageRecord>();
        for (var i = 0; i < 3000; i++)
        {
            var refused = random.Next(3) == 0;
            records.Add(new UsageRecord
            {
                RequestId = "p-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Timestamp = T0.AddMinutes(random.Next(0, 6 * 24 * 60)),
                KeyId = random.Next(2) == 0 ? "alpha" : "beta",
                ModelAlias = random.Next(2) == 0 ? "sim-chat" : "claude-sim",
                Operation = "chat",
                Tokens = refused ? default : new TokenUsage(random.Next(1, 900), random.Next(1, 300)),
                Cost = refused ? Money.Zero : Money.FromNano(random.NextInt64(1, 9_000_000)),
                Status = refused ? 429 : 200,
                Source = refused ? UsageSource.None : UsageSource.Reported,
            });
        }

        await using (var first = new PostgresUsageStore(_db, null, TimeProvider.System))
        await using (var second = new PostgresUsageStore(_db, null, TimeProvider.System))
        {
            first.Start();
            second.Start();

            // Both instances write interleaved batches of the same hours; the second also replays the first's records.
            var both = Task.WhenAll(
                Task.Run(() => { foreach (var r in records.Where((_, i) => i % 2 == 0)) { first.Record(r); } }),
                Task.Run(() => { foreach (var r in records.Where((_, i) => i % 2 == 1)) { second.Record(r); } }));
            await both;
            await first.FlushAsync(CancellationToken.None);
            foreach (var r in records.Take(300))
            {
                second.Record(r with { Cost = Money.FromUsd(1m) });
            }

            await second.FlushAsync(CancellationToken.None);
            var rollups = await first.QueryRollupsAsync(T0, T0.AddDays(7), CancellationToken.None);
            Assert.Equal(Expected(records), Lines(rollups));

            var history = new PostgresSpendHistory(_db);
            string[] keys = ["alpha"];
            (DateTimeOffset From, DateTimeOffset To)[] ranges = [(T0, T0.AddDays(6)), (T0.AddHours(7), T0.AddDays(2).AddHours(5)), (T0.AddDays(2), T0.AddDays(4))];
            var before = new List<Money>();
            foreach (var (from, to) in ranges)
            {
                before.Add(await history.SumAsync(keys, from, to, CancellationToken.None));
            }

            var horizon = T0.AddDays(3).AddHours(2);
            long deleted = 0;
            int batch;
            do
            {
                batch = await first.PruneAsync(horizon, 400, CancellationToken.None);
                deleted += batch;
            }
            while (batch == 400);

            Assert.Equal(records.Count(r => r.Timestamp < horizon), deleted);
            Assert.Equal(records.Count(r => r.Timestamp >= horizon), await _schema.ScalarAsync("SELECT count(*) FROM usage_records"));
            Assert.Equal(Lines(rollups), Lines(await second.QueryRollupsAsync(T0, T0.AddDays(7), CancellationToken.None)));
            for (var i = 0; i < ranges.Length; i++)
            {
                Assert.Equal(before[i], await history.SumAsync(keys, ranges[i].From, ranges[i].To, CancellationToken.None));
            }
        }
    }

    private static List<string> Expected(IEnumerable<UsageRecord> records) =>
        records
            .GroupBy(r => (Hour: UsageOutcome.HourOf(r.Timestamp.ToUnixTimeMilliseconds()), r.KeyId, r.ModelAlias, Outcome: UsageOutcome.Of(r)))
            .Select(g => string.Join('|', g.Key.Hour, g.Key.KeyId, g.Key.ModelAlias, g.Key.Outcome, g.Count(), g.Sum(r => r.Tokens.InputTokens), g.Sum(r => r.Tokens.OutputTokens), g.Sum(r => r.Cost.NanoUsd), 0))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static List<string> Lines(IEnumerable<UsageRollup> rollups) =>
        rollups
            .Select(r => string.Join('|', r.HourStart.ToUnixTimeMilliseconds(), r.KeyId, r.ModelAlias, r.Outcome, r.Requests, r.InputTokens, r.OutputTokens, r.Cost.NanoUsd, r.Degraded))
            .Order(StringComparer.Ordinal)
            .ToList();
}
