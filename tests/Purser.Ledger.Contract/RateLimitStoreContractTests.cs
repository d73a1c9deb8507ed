using Purser.RateLimits;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IRateLimitStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class RateLimitStoreContractTests
{
    /// <summary>A store on the test's database; each call is another instance on the same database.</summary>
    protected abstract IRateLimitStore Open();

    private static readonly DateTimeOffset At = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Limits_are_upserted_listed_by_id_and_deleted_once()
    {
        var store = Open();
        await store.UpsertAsync(new StoredRateLimit("b", """{"scope":"key:k","requests_per_minute":1}""", At), default);
        await store.UpsertAsync(new StoredRateLimit("a", """{"scope":"key:k","max_concurrent":2}""", At), default);
        await Open().UpsertAsync(new StoredRateLimit("b", """{"scope":"key:k","requests_per_minute":9}""", At.AddSeconds(1)), default);

        var listed = await Open().ListAsync(default);
        Assert.Equal(["a", "b"], listed.Select(l => l.Id));
        Assert.Equal("""{"scope":"key:k","requests_per_minute":9}""", listed[1].Definition);
        Assert.Equal(At.AddSeconds(1), listed[1].UpdatedAt);

        Assert.True(await store.DeleteAsync("b", default));
        Assert.False(await Open().DeleteAsync("b", default));
        Assert.Equal(["a"], (await store.ListAsync(default)).Select(l => l.Id));
    }

    [Fact]
    public async Task A_bucket_starts_full_grants_what_it_holds_and_refills_at_its_rate()
    {
        var store = Open();
        Assert.Equal(new RateSlice(40, 20), await store.TakeAsync("l:requests", 60, 40, 0, default));
        Assert.Equal(new RateSlice(20, 0), await Open().TakeAsync("l:requests", 60, 40, 0, default));
        Assert.Equal(0, (await store.TakeAsync("l:requests", 60, 1, 999, default)).Granted);

        // 60 a minute is one a second; a minute refills all of it and no more.
        Assert.Equal(1, (await store.TakeAsync("l:requests", 60, 5, 1000, default)).Granted);
        Assert.Equal(60, (await store.TakeAsync("l:requests", 60, 100, 1_000_000, default)).Granted);

        // Given back, never above a minute's allowance.
        await store.GiveBackAsync("l:requests", 60, 500, 1_000_000, default);
        Assert.Equal(60, (await Open().TakeAsync("l:requests", 60, 100, 1_000_000, default)).Granted);
        Assert.Equal(0, (await store.TakeAsync("l:requests", 60, 1, 1_000_000, default)).Granted);

        // A clock behind the stored one neither refills nor breaks the bucket.
        Assert.Equal(0, (await store.TakeAsync("l:requests", 60, 1, 500_000, default)).Granted);
    }

    [Fact]
    public async Task Deleting_a_limit_drops_its_buckets()
    {
        var store = Open();
        await store.UpsertAsync(new StoredRateLimit("gone", """{"scope":"key:k","requests_per_minute":1}""", At), default);
        Assert.Equal(10, (await store.TakeAsync("gone:tokens", 10, 10, 0, default)).Granted);
        Assert.True(await store.DeleteAsync("gone", default));
        Assert.Equal(10, (await store.TakeAsync("gone:tokens", 10, 10, 0, default)).Granted);
    }

    /// <summary>Instances racing for one bucket are granted, together, exactly what it held: never more.</summary>
    [Fact]
    public async Task Concurrent_takes_never_grant_more_than_the_bucket_holds()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToArray();
        var takes = Enumerable.Range(0, 40).Select(i => Task.Run(() => stores[i % stores.Length].TakeAsync("race:tokens", 1000, 37, 0, default))).ToArray();
        var granted = (await Task.WhenAll(takes)).Select(t => t.Granted).ToArray();
        Assert.Equal(1000, granted.Sum());
        Assert.All(granted, g => Assert.InRange(g, 0, 37));
    }
}
