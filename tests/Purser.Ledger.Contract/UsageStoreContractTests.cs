using Microsoft.Extensions.Time.Testing;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Ledger.Contract;

/// <summary>
/// The rules of the usage store (<see cref="IUsageSink"/>, <see cref="IUsageStore"/>, <see cref="IUsageExport"/>), run
/// against every store (SQLite and PostgreSQL): a record per request id, read back newest first with filters and as
/// CSV, what one instance wrote read by another, and disposal (a clean shutdown) draining the queue, then refusing.
/// </summary>
public abstract class UsageStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>A store on the test's database; each call is another instance on the same database, as another process has.</summary>
    protected abstract UsageStoreUnderTest Open();

    /// <summary>How many usage records the test's database holds, read past every store.</summary>
    protected abstract Task<long> CountAsync();

    protected static UsageRecord Record(string id, string key, DateTimeOffset at, long cost, string? task = null) => new()
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

    [Fact]
    public async Task Records_are_written_once_per_request_id_and_read_back_newest_first_with_filters()
    {
        var store = Open();
        await using var _ = store.Owner;
        store.Sink.Record(Record("r1", "k1", T0, 1_000, "swarm"));
        store.Sink.Record(Record("r2", "k2", T0.AddSeconds(1), 2_000));
        store.Sink.Record(Record("r3", "k1", T0.AddSeconds(2), 3_000));
        store.Sink.Record(Record("r1", "k1", T0, 9_999));
        await store.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        var all = await store.Store.QueryAsync(new UsageQuery(), CancellationToken.None);
        Assert.Equal(["r3", "r2", "r1"], all.Select(r => r.RequestId));
        Assert.Equal(1_000, all[2].Cost.NanoUsd);
        Assert.Equal("swarm", all[2].TaskScope);
        Assert.Equal(T0, all[2].Timestamp);
        Assert.Equal(new TokenUsage(10, 20, 1, 2, CacheWrite1hTokens: 1, ReasoningTokens: 5, WebSearchRequests: 3, Tier: ServiceTier.Flex), all[2].Tokens);

        var k1Late = await store.Store.QueryAsync(new UsageQuery { KeyId = "k1", From = T0.AddSeconds(1), Limit = 0 }, CancellationToken.None);
        Assert.Equal(["r3"], k1Late.Select(r => r.RequestId));
        Assert.Equal(3, await CountAsync());
    }

    [Fact]
    public async Task Usage_records_keep_end_user_and_tags_and_filter_by_them()
    {
        var store = Open();
        await using var _ = store.Owner;
        store.Sink.Record(Record("u1", "k1", T0, 1_000) with { EndUser = "alice@example.com", Tags = "batch,nightly" });
        store.Sink.Record(Record("u2", "k1", T0.AddSeconds(1), 1_000) with { EndUser = "bob", Tags = "batch_x" });
        store.Sink.Record(Record("u3", "k1", T0.AddSeconds(2), 1_000) with { EndUser = "alice@example.com" });
        await store.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        async Task<string[]> Ids(UsageQuery query) => [.. (await store.Store.QueryAsync(query, CancellationToken.None)).Select(r => r.RequestId)];
        Assert.Equal(["u3", "u1"], await Ids(new UsageQuery { EndUser = "alice@example.com" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "batch" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "nightly", EndUser = "alice@example.com" }));
        Assert.Equal(["u2"], await Ids(new UsageQuery { Tag = "batch_x" }));
        Assert.Empty(await Ids(new UsageQuery { Tag = "batch%" }));
        var read = (await store.Store.QueryAsync(new UsageQuery { Tag = "batch" }, CancellationToken.None)).Single();
        Assert.Equal(("alice@example.com", "batch,nightly"), (read.EndUser, read.Tags));
    }

    [Fact]
    public async Task Csv_export_has_the_header_and_one_line_per_record_in_usd()
    {
        var store = Open();
        await using var _ = store.Owner;
        store.Sink.Record(Record("r2", "k2", T0.AddSeconds(1), 2_000));
        store.Sink.Record(Record("r9", "k9", T0, 1));
        await store.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        using var csv = new StringWriter();
        await store.Export.WriteCsvAsync(new UsageQuery { KeyId = "k2" }, csv, CancellationToken.None);

        var lines = csv.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("request_id,timestamp,key_id", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("r2,2026-11-24T12:00:01.000Z,k2,sim-chat", lines[1], StringComparison.Ordinal);
        Assert.Contains(",0.000002,", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_instance_reads_what_one_wrote_and_a_record_written_twice_by_two_instances_is_kept_once()
    {
        var first = Open();
        var second = Open();
        await using (first.Owner)
        await using (second.Owner)
        {
            first.Sink.Record(Record("shared", "k1", T0, 10));
            await first.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
            second.Sink.Record(Record("shared", "k1", T0, 20));
            second.Sink.Record(Record("own", "k1", T0.AddSeconds(1), 30));
            await second.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

            var read = await first.Store.QueryAsync(new UsageQuery(), CancellationToken.None);
            Assert.Equal(["own", "shared"], read.Select(r => r.RequestId));
            Assert.Equal(10, read[1].Cost.NanoUsd);
        }
    }

    [Fact]
    public async Task Disposal_writes_everything_still_queued_then_refuses_records_and_flush_completes()
    {
        var store = Open();
        for (var i = 0; i < 500; i++)
        {
            store.Sink.Record(Record("r" + i, "k1", T0.AddMilliseconds(i), 3));
        }

        await store.Owner.DisposeAsync().AsTask().WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(500, await CountAsync());
        Assert.Throws<ObjectDisposedException>(() => store.Sink.Record(Record("late", "k1", T0, 1)));
        await store.Export.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        var reader = Open();
        await using var _ = reader.Owner;
        Assert.Equal(500, (await reader.Store.QueryAsync(new UsageQuery { Limit = 0 }, CancellationToken.None)).Count);
    }
}
