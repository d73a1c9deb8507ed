using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Purser.Gateway.Tests.Infrastructure;
using Purser.Usage;
using Xunit.Abstractions;

namespace Purser.Gateway.Tests.Usage;

/// <summary>
/// What a runaway client costs on disk: a key refused at its cap, hammered by a bounded loop, must leave exactly one
/// compact record per request and a roll-up that counts them all. Prints the bytes per refused request and the
/// growth rate at the loop's request rate (docs/design.md quotes them).
/// </summary>
public sealed class RefusedFloodStorageTests : IAsyncLifetime
{
    /// <summary>The most a refused request may add to the database file, all tables and indexes included.</summary>
    private const double MaxBytesPerRefusal = 165;

    private const int Requests = 4000;

    private readonly BudgetFixture _fixture = new();
    private readonly ITestOutputHelper _output;

    public RefusedFloodStorageTests(ITestOutputHelper output) => _output = output;

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_refused_flood_writes_one_compact_record_per_request_and_one_rollup_row_per_hour()
    {
        var secret = await _fixture.CreateKeyAsync("runaway");
        await _fixture.PutBudgetAsync("runaway-zero", new JsonObject { ["scope"] = "key:runaway", ["cap_usd"] = "0" });
        var body = BudgetFixture.ChatBody(64);
        using (var first = await _fixture.Http.SendAsync(_fixture.Chat(secret, body)))
        {
            Assert.Equal(402, (int)first.StatusCode);
        }

        await _fixture.Gateway.FlushUsageAsync();
        var before = UsedBytes();
        var tablesBefore = Tables();

        var clock = RealClock.Start();
        await Parallel.ForEachAsync(Enumerable.Range(0, Requests), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, body), ct);
            Assert.Equal(402, (int)response.StatusCode);
        });
        clock.Stop();
        await _fixture.Gateway.FlushUsageAsync();
        var after = UsedBytes();
        foreach (var (name, bytes) in Tables())
        {
            _output.WriteLine($"  {name}: {(bytes - tablesBefore.GetValueOrDefault(name)) / (double)Requests:F2} rows per request");
        }

        var records = await _fixture.Gateway.Usage.QueryAsync(new UsageQuery { KeyId = "runaway", Limit = 0 }, CancellationToken.None);
        Assert.Equal(Requests + 1, records.Count);
        Assert.All(records, r => Assert.Equal(UsageSource.None, r.Source));
        var (_, rollups) = await Bedtime.BedtimeTestKit.AdminAsync(_fixture, HttpMethod.Get, "/admin/usage/rollups?from=2026-11-24&to=2026-11-25");
        var row = Assert.Single(rollups["data"]!.AsArray(), r => r!["key_id"]!.GetValue<string>() == "runaway")!;
        Assert.Equal("refused", row["outcome"]!.GetValue<string>());
        Assert.Equal(Requests + 1, row["requests"]!.GetValue<long>());

        var perRequest = (after - before) / (double)Requests;
        var rate = Requests / clock.Elapsed.TotalSeconds;
        _output.WriteLine($"refused flood: {Requests} requests in {clock.Elapsed.TotalSeconds:F1} s ({rate:F0}/s, 8 connections); "
            + $"database +{after - before} bytes = {perRequest:F1} bytes per refused request; "
            + $"{perRequest * rate * 3600 / 1e6:F0} MB an hour at this rate, {perRequest * 3300 * 3600 / 1e6:F0} MB an hour at 3,300/s");
        Assert.True(perRequest <= MaxBytesPerRefusal, $"{perRequest:F1} bytes per refused request");
    }

    /// <summary>Rows by table.</summary>
    private Dictionary<string, long> Tables()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _fixture.DatabasePath, Pooling = false }.ToString());
        connection.Open();
        var names = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table';";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        var tables = new Dictionary<string, long>();
        foreach (var name in names)
        {
            using var count = connection.CreateCommand();
            count.CommandText = $"SELECT count(*) FROM \"{name}\";";
            tables[name] = (long)count.ExecuteScalar()!;
        }

        return tables;
    }

    /// <summary>The database's used pages (free pages excluded), after a checkpoint so the WAL is in the file.</summary>
    private long UsedBytes()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _fixture.DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size());";
        using var reader = command.ExecuteReader();
        reader.NextResult();
        reader.Read();
        return reader.GetInt64(0) * reader.GetInt64(1);
    }
}
