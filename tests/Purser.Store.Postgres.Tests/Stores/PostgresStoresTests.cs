using Purser.Pricing;
using Purser.Store.Postgres.Usage;
using Purser.Usage;

namespace Purser.Store.Postgres.Tests.Stores;

/// <summary>The usage store on PostgreSQL keeps the SQLite store's rules: idempotent records, newest first, drained on disposal.</summary>
public sealed class PostgresStoresTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

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
    public async Task Usage_records_are_written_once_per_request_id_and_read_back_newest_first_with_filters_and_csv()
    {
        await using (var store = new PostgresUsageStore(_db, null, TimeProvider.System))
        {
            store.Record(Record("r1", "k1", T0, 1_000, "swarm"));
            store.Record(Record("r2", "k2", T0.AddSeconds(1), 2_000, null));
            store.Record(Record("r3", "k1", T0.AddSeconds(2), 3_000, null));
            store.Record(Record("r1", "k1", T0, 9_999, null));
            await store.FlushAsync(CancellationToken.None);

            var all = await store.QueryAsync(new UsageQuery(), CancellationToken.None);
            Assert.Equal(["r3", "r2", "r1"], all.Select(r => r.RequestId));
            Assert.Equal(1_000, all[2].Cost.NanoUsd);
            Assert.Equal("swarm", all[2].TaskScope);
            Assert.Equal(new TokenUsage(10, 20, 1, 2, CacheWrite1hTokens: 1, ReasoningTokens: 5, WebSearchRequests: 3, Tier: ServiceTier.Flex), all[2].Tokens);

            var k1Late = await store.QueryAsync(new UsageQuery { KeyId = "k1", From = T0.AddSeconds(1), Limit = 0 }, CancellationToken.None);
            Assert.Equal(["r3"], k1Late.Select(r => r.RequestId));

            using var csv = new StringWriter();
            await store.WriteCsvAsync(new UsageQuery { KeyId = "k2" }, csv, CancellationToken.None);
            var lines = csv.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("request_id,timestamp,key_id", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("r2,2026-11-24T12:00:01.000Z,k2,sim-chat", lines[1], StringComparison.Ordinal);
            Assert.Contains(",0.000002,", lines[1], StringComparison.Ordinal);

            // Recorded last and not flushed: disposal (a clean shutdown) drains it.
            store.Record(Record("r4", "k1", T0.AddSeconds(3), 4_000, null));
        }

        Assert.Equal(4, await _schema.ScalarAsync("SELECT count(*) FROM usage_records"));
    }

    private static UsageRecord Record(string id, string key, DateTimeOffset at, long cost, string? task) => new()
    {
        RequestId = id,
        Timestamp = at,
        KeyId = key,
        ModelAlias = "sim-chat",
        Provider = "sim",
        UpstreamModel = "sim-chat",
        Operation = "chat",
        Tokens = new TokenUsage(10, 20, 1, 2, CacheWrite1hTokens: 1, ReasoningTokens: 5, WebSearchRequests: 3, Tier: ServiceTier.Flex),
        Cost = Money.FromNano(cost),
        Status = 200,
        TaskScope = task,
    };
}
