using Microsoft.Extensions.Time.Testing;
using Purser.Pricing;
using Purser.Store.Sqlite.Bedtime;
using Purser.Usage;

namespace Purser.Store.Sqlite.Tests;

/// <summary>
/// The hourly roll-ups: always the sums of the records written (replays included), unchanged by pruning, and what
/// the spend sums read for pruned time; backfilled from the records of a database written before they existed.
/// </summary>
public sealed class UsageRollupTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();
    private SqliteDatabase _db = null!;
    private SqliteUsageStore _store = null!;

    public Task InitializeAsync()
    {
        var path = _dir.File("purser.db");
        _db = SqliteDatabase.Open(path);
        _store = new SqliteUsageStore(_db, new SqliteStoreOptions { Path = path }, new FakeTimeProvider(T0));
        _store.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Rollups_are_the_sums_of_the_records_by_hour_key_model_and_outcome_and_replays_count_once()
    {
        var records = Generate(new Random(17), 3000);
        foreach (var record in records)
        {
            _store.Record(record);
        }

        // A replayed batch (a retry after an uncertain commit) writes no record and adds nothing to the roll-ups.
        foreach (var record in records.Take(500))
        {
            _store.Record(record with { Cost = Money.FromUsd(1000m) });
        }

        await _store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(Expected(records), Actual(await _store.QueryRollupsAsync(T0.AddDays(-1), T0.AddDays(30), CancellationToken.None)));
    }

    [Fact]
    public async Task Pruning_in_batches_deletes_only_records_past_the_horizon_and_keeps_rollups_and_spend_sums()
    {
        var records = Generate(new Random(5), 4000);
        foreach (var record in records)
        {
            _store.Record(record);
        }

        await _store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        var history = new SqliteSpendHistory(_db);
        string[] keys = ["alpha", "beta"];
        (DateTimeOffset From, DateTimeOffset To)[] ranges =
        [
            (T0, T0.AddDays(10)), (T0.AddHours(5), T0.AddDays(3).AddHours(7)), (T0.AddDays(4), T0.AddDays(6)), (T0.AddDays(6), T0.AddDays(9)),
        ];
        var sumsBefore = new List<Money>();
        foreach (var (from, to) in ranges)
        {
            sumsBefore.Add(await history.SumAsync(keys, from, to, CancellationToken.None));
        }

        var rollupsBefore = await _store.QueryRollupsAsync(T0, T0.AddDays(30), CancellationToken.None);

        var horizon = T0.AddDays(5).AddHours(3);
        var deleted = 0;
        int batch;
        var passes = 0;
        do
        {
            batch = await _store.PruneAsync(horizon, 250, CancellationToken.None);
            deleted += batch;
            passes++;
        }
        while (batch == 250);

        var older = records.Count(r => r.Timestamp < horizon);
        Assert.Equal(older, deleted);
        Assert.True(passes > older / 250, $"{passes} passes for {older} records");
        var left = await _store.QueryAsync(new UsageQuery { Limit = 0 }, CancellationToken.None);
        Assert.Equal(records.Count - older, left.Count);
        Assert.All(left, r => Assert.True(r.Timestamp >= horizon));
        Assert.Equal(Actual(rollupsBefore), Actual(await _store.QueryRollupsAsync(T0, T0.AddDays(30), CancellationToken.None)));
        for (var i = 0; i < ranges.Length; i++)
        {
            Assert.Equal(sumsBefore[i], await history.SumAsync(keys, ranges[i].From, ranges[i].To, CancellationToken.None));
        }

        // Pruning again at the same horizon finds nothing, and an earlier horizon never lowers the recorded one.
        Assert.Equal(0, await _store.PruneAsync(horizon, 250, CancellationToken.None));
        Assert.Equal(0, await _store.PruneAsync(T0.AddDays(1), 250, CancellationToken.None));
        Assert.Equal(horizon.ToUnixTimeMilliseconds(), TestRecords.Scalar(_db, "SELECT pruned_before FROM usage_retention"));
    }

    [Fact]
    public void A_database_written_before_rollups_gets_them_backfilled_from_its_records()
    {
        var path = _dir.File("old.db");
        var old = SqliteDatabase.Open(path, SqliteSchema.Migrations.Take(6).ToList());
        var records = Generate(new Random(3), 400);
        using (var connection = old.OpenConnection())
        {
            foreach (var r in records)
            {
                using var insert = connection.CreateCommand();
                insert.CommandText =
                    """
                    INSERT INTO usage_records (request_id, timestamp, key_id, model_alias, provider, upstream_model, operation,
                        input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cost_nano, status, error_code,
                        latency_ms, streamed, source, task_scope, degraded)
                    VALUES ($id, $ts, $key, $model, '', '', 'chat', $in, $out, 0, 0, $cost, $status, NULL, 1, 0, $source, NULL, $degraded);
                    """;
                insert.Parameters.AddWithValue("$id", r.RequestId);
                insert.Parameters.AddWithValue("$ts", r.Timestamp.ToUnixTimeMilliseconds());
                insert.Parameters.AddWithValue("$key", r.KeyId);
                insert.Parameters.AddWithValue("$model", r.ModelAlias);
                insert.Parameters.AddWithValue("$in", r.Tokens.InputTokens);
                insert.Parameters.AddWithValue("$out", r.Tokens.OutputTokens);
                insert.Parameters.AddWithValue("$cost", r.Cost.NanoUsd);
                insert.Parameters.AddWithValue("$status", r.Status);
                insert.Parameters.AddWithValue("$source", (int)r.Source);
                insert.Parameters.AddWithValue("$degraded", (object?)r.Degraded ?? DBNull.Value);
                insert.ExecuteNonQuery();
            }
        }

        var migrated = SqliteDatabase.Open(path);

        Assert.Equal(SqliteSchema.Migrations.Count, migrated.SchemaVersion);
        using var read = migrated.OpenConnection();
        using var command = read.CreateCommand();
        command.CommandText = UsageRollupRows.SelectSql;
        command.Parameters.AddWithValue("$1", 0L);
        command.Parameters.AddWithValue("$2", long.MaxValue);
        using var reader = command.ExecuteReader();
        var rollups = new List<UsageRollup>();
        while (reader.Read())
        {
            rollups.Add(UsageRollupRows.Read(reader));
        }

        Assert.Equal(Expected(records), Actual(rollups));
    }

    [Fact]
    public async Task Gateway_request_ids_are_stored_as_twelve_bytes_and_read_back_as_written()
    {
        var random = new Random(9);
        var ids = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            var hex = Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())) + Convert.ToHexStringLower(BitConverter.GetBytes(random.Next()));
            ids.Add("req_" + hex);
        }

        // Look-alikes that are not the gateway's form stay text: upper case, wrong length, another prefix.
        ids.AddRange(["req_0123456789ABCDEF01234567", "req_0123456789abcdef0123456", "REQ_0123456789abcdef01234567", "req_0123456789abcdef0123456g", "caller-id-1"]);
        for (var i = 0; i < ids.Count; i++)
        {
            _store.Record(TestRecords.Make(ids[i], at: T0.AddSeconds(i)) with { Source = i % 2 == 0 ? UsageSource.None : UsageSource.Reported, Status = i % 2 == 0 ? 402 : 200 });
        }

        // A replay of the same ids writes nothing more.
        foreach (var id in ids)
        {
            _store.Record(TestRecords.Make(id, at: T0));
        }

        await _store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        var records = await _store.QueryAsync(new UsageQuery { Limit = 0 }, CancellationToken.None);
        Assert.Equal(ids.Order(StringComparer.Ordinal), records.Select(r => r.RequestId).Order(StringComparer.Ordinal));
        Assert.Equal(records.Count(r => r.Source == UsageSource.None), (ids.Count + 1) / 2);
        Assert.Equal(200, TestRecords.Scalar(_db, "SELECT count(*) FROM usage_records WHERE typeof(request_id) = 'blob' AND length(request_id) = 12"));
        using var csv = new StringWriter();
        await _store.WriteCsvAsync(new UsageQuery(), csv, CancellationToken.None);
        Assert.Contains(ids[0] + ",", csv.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Generated records over ten days: three keys, three models, every outcome, some degraded.</summary>
    private static List<UsageRecord> Generate(Random random, int count)
    {
        string[] keys = ["alpha", "beta", "gamma"];
        string[] models = ["sim-chat", "claude-sim", "=odd,\"model\""];
        var records = new List<UsageRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var kind = random.Next(3);
            var tokens = kind == 0 ? new TokenUsage(0, 0) : new TokenUsage(random.Next(1, 5000), random.Next(0, 2000));
            records.Add(new UsageRecord
            {
                RequestId = "g-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Timestamp = T0.AddMilliseconds(random.NextInt64(0, (long)TimeSpan.FromDays(10).TotalMilliseconds)),
                KeyId = keys[random.Next(keys.Length)],
                ModelAlias = models[random.Next(models.Length)],
                Operation = "chat",
                Tokens = tokens,
                Cost = kind == 0 ? Money.Zero : Money.FromNano(random.NextInt64(1, 50_000_000)),
                Status = kind switch { 0 => 402, 1 => 200, _ => 502 },
                Source = kind == 0 ? UsageSource.None : UsageSource.Reported,
                Degraded = random.Next(10) == 0 ? "max_tokens=64" : null,
            });
        }

        return records;
    }

    private static List<string> Expected(IEnumerable<UsageRecord> records) =>
        records
            .GroupBy(r => (Hour: UsageOutcome.HourOf(r.Timestamp.ToUnixTimeMilliseconds()), r.KeyId, r.ModelAlias, Outcome: UsageOutcome.Of(r)))
            .Select(g => Line(g.Key.Hour, g.Key.KeyId, g.Key.ModelAlias, g.Key.Outcome, g.Count(), g.Sum(r => r.Tokens.InputTokens), g.Sum(r => r.Tokens.OutputTokens), g.Sum(r => r.Cost.NanoUsd), g.Count(r => r.Degraded is not null)))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static List<string> Actual(IEnumerable<UsageRollup> rollups) =>
        rollups
            .Select(r => Line(r.HourStart.ToUnixTimeMilliseconds(), r.KeyId, r.ModelAlias, r.Outcome, r.Requests, r.InputTokens, r.OutputTokens, r.Cost.NanoUsd, r.Degraded))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string Line(long hour, string key, string model, string outcome, long requests, long input, long output, long cost, long degraded) =>
        string.Join('|', hour, key, model, outcome, requests, input, output, cost, degraded);
}
