using Microsoft.Extensions.Time.Testing;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Ledger.Contract;

/// <summary>
/// The rules of <see cref="IBedtimeStore"/>, run against every store (SQLite and PostgreSQL). Each <see cref="Open"/> is
/// another instance on the same database, as another process has.
/// </summary>
public abstract class BedtimeStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>A store on the test's database; each call is another instance on the same database.</summary>
    protected abstract IBedtimeStore Open();

    protected static BedtimePolicy Policy(string scope, decimal multiplier = 2.5m, string? degrade = null) =>
        new(ScopeRef.TryParse(scope, out var parsed) ? parsed.Value : throw new ArgumentException(scope, nameof(scope)), true, "Europe/Oslo", new TimeOnly(22, 30), new TimeOnly(6, 15), 14, multiplier, Money.FromNano(1_500_000_001), degrade);

    [Fact]
    public async Task Policy_round_trips_every_field_to_another_instance()
    {
        var policy = Policy("team:platform", 1.125m, "sim-mini") with { Enabled = false };

        await Open().UpsertAsync(policy, default);

        Assert.Equal(policy, Assert.Single(await Open().ListAsync(default)));
    }

    [Fact]
    public async Task Policy_without_degrade_model_round_trips_as_null()
    {
        var policy = Policy("key:agent-a");

        await Open().UpsertAsync(policy, default);

        var stored = Assert.Single(await Open().ListAsync(default));
        Assert.Null(stored.DegradeModel);
        Assert.Equal(policy, stored);
    }

    [Fact]
    public async Task Upsert_replaces_the_policy_of_the_same_scope()
    {
        var store = Open();
        await store.UpsertAsync(Policy("key:agent-a"), default);
        Time.Advance(TimeSpan.FromMinutes(1));

        var replaced = Policy("key:agent-a", 4m, "sim-mini") with { SleepStart = new TimeOnly(0, 0), SleepEnd = new TimeOnly(5, 0), BaselineDays = 3 };
        await store.UpsertAsync(replaced, default);

        Assert.Equal(replaced, Assert.Single(await Open().ListAsync(default)));
    }

    [Fact]
    public async Task Policies_are_listed_by_scope_in_ordinal_order_and_delete_reports_absence()
    {
        var store = Open();
        foreach (var scope in (string[])["team:zeta", "key:b", "key:B", "key:a", "team:alpha"])
        {
            await store.UpsertAsync(Policy(scope), default);
        }

        Assert.Equal(["key:B", "key:a", "key:b", "team:alpha", "team:zeta"], (await Open().ListAsync(default)).Select(p => p.Scope.ToString()));
        Assert.True(await store.DeleteAsync("key:b", default));
        Assert.False(await store.DeleteAsync("key:b", default));
        Assert.False(await store.DeleteAsync("team:never", default));
        Assert.Equal(["key:B", "key:a", "team:alpha", "team:zeta"], (await Open().ListAsync(default)).Select(p => p.Scope.ToString()));
    }

    [Fact]
    public async Task Concurrent_upserts_of_one_scope_from_8_instances_leave_exactly_one_of_them()
    {
        var stores = Enumerable.Range(0, 8).Select(_ => Open()).ToArray();
        var policies = Enumerable.Range(1, 8).Select(i => Policy("key:raced", i)).ToArray();

        await Task.WhenAll(stores.Select((s, i) => s.UpsertAsync(policies[i], default)));

        Assert.Contains(Assert.Single(await Open().ListAsync(default)), policies);
    }
}
