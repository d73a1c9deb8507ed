using System.Net;
using System.Text.Json.Nodes;
using Purser.Gateway.Tests.Infrastructure;

namespace Purser.Gateway.Tests.Budgets;

/// <summary>
/// With leases on, a rolling window's bucket is passed straight to the underlying ledger (its cap changes with every
/// request), while the other budgets of the same request stay leased: the rolling cap still holds exactly.
/// </summary>
public sealed class RollingLeaseTests : IAsyncLifetime
{
    private readonly BudgetFixture _fixture = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero), leases: true);

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_rolling_budget_under_leases_never_passes_its_cap_and_frees_spend_after_its_span()
    {
        var worst = BudgetFixture.WorstCaseNano(BudgetFixture.ChatBody(100), 100);
        var secret = await _fixture.CreateKeyAsync("leased-rolling");
        await _fixture.PutBudgetAsync("leased-rolling-key", new JsonObject { ["scope"] = "key:leased-rolling", ["window"] = "monthly", ["cap_usd"] = "100" });
        await _fixture.PutBudgetAsync("leased-rolling-hour", new JsonObject { ["scope"] = "key:leased-rolling", ["window"] = "rolling_1h", ["cap_usd"] = BudgetFixture.Usd(3 * worst) });

        var served = 0;
        for (var minute = 0; minute < 30; minute++)
        {
            using var response = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(100)));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
                break;
            }

            served++;
            _fixture.Time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.InRange(served, 3, 29);
        var (spent, held, _) = await _fixture.BudgetStateAsync("leased-rolling-hour");
        Assert.True(spent + held <= 3 * worst, $"rolling window committed {spent + held} over its cap {3 * worst}");

        // An hour (and a bucket) after the first request, its spend has left the window.
        _fixture.Time.Advance(TimeSpan.FromMinutes(61));
        using var later = await _fixture.Http.SendAsync(_fixture.Chat(secret, BudgetFixture.ChatBody(100)));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);

        await _fixture.StopGatewayAsync();
        var records = await ReadRecordsAsync();
        Assert.Equal(served + 2, records); // the served requests, the refusal and the later one
    }

    private async Task<long> ReadRecordsAsync()
    {
        await using var store = new Purser.Store.Sqlite.SqliteUsageStore(
            Purser.Store.Sqlite.SqliteDatabase.Open(_fixture.DatabasePath),
            new Purser.Store.Sqlite.SqliteStoreOptions { Path = _fixture.DatabasePath },
            TimeProvider.System);
        return (await store.QueryAsync(new Purser.Usage.UsageQuery { KeyId = "leased-rolling", Limit = 0 }, CancellationToken.None)).Count;
    }
}
