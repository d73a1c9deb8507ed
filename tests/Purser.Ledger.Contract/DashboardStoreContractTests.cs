using Microsoft.Extensions.Time.Testing;
using Purser.Dashboard;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IDashboardStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class DashboardStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>A store on the test's database; each call is another instance on the same database, as another process would have.</summary>
    protected abstract IDashboardStore Open();

    [Fact]
    public void Key_ring_elements_are_shared_and_listed_in_the_order_stored()
    {
        var first = Open();
        Assert.Empty(first.ListKeyRingElements());
        first.AddKeyRingElement("key-1", "<key id=\"1\"><descriptor>é ✓</descriptor></key>");
        Open().AddKeyRingElement("key-2", "<key id=\"2\" />");

        Assert.Equal(["<key id=\"1\"><descriptor>é ✓</descriptor></key>", "<key id=\"2\" />"], Open().ListKeyRingElements());
        Assert.Equal(2, first.ListKeyRingElements().Count);
    }

    [Fact]
    public async Task A_session_opened_by_one_instance_is_found_by_another_until_it_is_ended()
    {
        var session = new DashboardSessionRecord("n1", "FP1", T0.AddHours(8));
        await Open().AddSessionAsync(session, default);

        var other = Open();
        Assert.Equal(session, await other.FindSessionAsync("n1", default));
        Assert.Null(await other.FindSessionAsync("n2", default));

        Assert.True(await other.EndSessionAsync("n1", default));
        Assert.Null(await Open().FindSessionAsync("n1", default));
        Assert.False(await other.EndSessionAsync("n1", default));
    }

    [Fact]
    public async Task Extending_moves_the_end_of_an_open_session_only()
    {
        var store = Open();
        await store.AddSessionAsync(new DashboardSessionRecord("n1", "FP1", T0.AddHours(1)), default);

        Assert.True(await store.ExtendSessionAsync("n1", T0.AddHours(9), default));
        Assert.Equal(T0.AddHours(9), (await Open().FindSessionAsync("n1", default))!.ExpiresAt);

        await store.EndSessionAsync("n1", default);
        Assert.False(await store.ExtendSessionAsync("n1", T0.AddHours(10), default));
        Assert.Null(await store.FindSessionAsync("n1", default));
    }

    [Fact]
    public async Task Ending_sessions_for_a_key_keeps_only_that_keys_unexpired_sessions()
    {
        var store = Open();
        await store.AddSessionAsync(new DashboardSessionRecord("old-key", "FP1", T0.AddHours(8)), default);
        await store.AddSessionAsync(new DashboardSessionRecord("expired", "FP2", T0.AddMinutes(-1)), default);
        await store.AddSessionAsync(new DashboardSessionRecord("ends-now", "FP2", T0), default);
        await store.AddSessionAsync(new DashboardSessionRecord("current", "FP2", T0.AddHours(8)), default);

        Assert.Equal(3, await Open().EndSessionsAsync("FP2", T0, default));

        Assert.Null(await store.FindSessionAsync("old-key", default));
        Assert.Null(await store.FindSessionAsync("expired", default));
        Assert.Null(await store.FindSessionAsync("ends-now", default));
        Assert.NotNull(await store.FindSessionAsync("current", default));
    }
}
