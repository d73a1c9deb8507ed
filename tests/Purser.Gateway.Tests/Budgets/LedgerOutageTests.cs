using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>A SQLite ledger that cannot be written is the ledger's outage: fail closed, with the outage code in the caller's shape.</summary>
[Collection(BudgetCollection.Name)]
public sealed class LedgerOutageTests
{
    private readonly BudgetFixture _fixture;

    public LedgerOutageTests(BudgetFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task A_locked_SQLite_ledger_fails_closed_with_503_ledger_unavailable_in_the_anthropic_shape()
    {
        var secret = await _fixture.CreateKeyAsync("locked-out");
        await _fixture.PutBudgetAsync("locked-out-daily", new JsonObject { ["scope"] = "key:locked-out", ["window"] = "daily", ["cap_usd"] = "10" });

        // Another process holding the write lock past the busy timeout (SQLITE_BUSY; Microsoft.Data.Sqlite retries it up to
        // its 30 s command timeout) is an outage, not a 500. The OpenAI shape has carried the code all along.
        using (var holder = Lock(_fixture.DatabasePath))
        {
            try
            {
                var message = """{"model":"claude-sim","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""";
                using (var anthropic = await _fixture.Http.SendAsync(Requests.Messages(message, secret)))
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, anthropic.StatusCode);
                    var json = await BudgetFixture.ReadJsonAsync(anthropic);
                    Assert.Equal("error", json["type"]!.GetValue<string>());
                    Assert.Equal("api_error", json["error"]!["type"]!.GetValue<string>());
                    Assert.Equal("ledger_unavailable", json["error"]!["code"]!.GetValue<string>());
                    Assert.Equal("1", anthropic.Headers.RetryAfter!.ToString());
                }
            }
            finally
            {
                Unlock(holder);
            }
        }

        // Once the lock is gone the same key is served, and the refused calls charged nothing.
        using var served = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(100)));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var (spent, held, _) = await _fixture.BudgetStateAsync("locked-out-daily");
        Assert.Equal(0, held);
        Assert.Equal((await _fixture.UsageOfKeyAsync("locked-out")).Sum(r => r.Cost.NanoUsd), spent);
    }

    [Fact]
    public async Task With_fail_open_a_locked_SQLite_ledger_serves_within_the_local_cap()
    {
        var fixture = new BudgetFixture(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), failOpenLocalCapUsd: "1");
        await fixture.InitializeAsync();
        try
        {
            var secret = await fixture.CreateKeyAsync("open-on-outage");
            await fixture.PutBudgetAsync("open-on-outage-daily", new JsonObject { ["scope"] = "key:open-on-outage", ["window"] = "daily", ["cap_usd"] = "10" });
            using var holder = Lock(fixture.DatabasePath);
            try
            {
                using var served = await fixture.Http.SendAsync(fixture.Chat(secret, BudgetFixture.ChatBody(100)));
                Assert.Equal(HttpStatusCode.OK, served.StatusCode);
                Assert.Equal("fail_open", served.Headers.GetValues("x-budget-degraded").Single());
            }
            finally
            {
                Unlock(holder);
            }
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    /// <summary>Another connection holding the file's write lock, as another process would.</summary>
    private static SqliteConnection Lock(string path)
    {
        var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        holder.Open();
        using var exclusive = holder.CreateCommand();
        exclusive.CommandText = "BEGIN EXCLUSIVE;";
        exclusive.ExecuteNonQuery();
        return holder;
    }

    private static void Unlock(SqliteConnection holder)
    {
        using var rollback = holder.CreateCommand();
        rollback.CommandText = "ROLLBACK;";
        rollback.ExecuteNonQuery();
    }
}
