using Microsoft.Extensions.Time.Testing;
using Purser.Events;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IEventStore"/>, run against every store (SQLite and PostgreSQL).</summary>
public abstract class EventStoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, 250, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(T0);

    /// <summary>A store on the test's database; each call is another instance on the same database, as another process would have.</summary>
    protected abstract IEventStore Open();

    /// <summary>The one value the query returns, read from the test's database.</summary>
    protected abstract Task<long> ScalarAsync(string sql);

    /// <summary>Whether the exception is the store's own error for a duplicate event id.</summary>
    protected abstract bool IsDuplicateKeyError(Exception exception);

    protected static GatewayEvent Event(string id, DateTimeOffset at, string type = "budget.blocked", string? scope = "key:agent-a") =>
        new(id, at, type, scope, null, null, null, "message " + id, null);

    [Fact]
    public async Task Event_round_trips_every_field()
    {
        var store = Open();
        var e = new GatewayEvent("e1", T0, "budget.threshold", "team:platform", "platform-daily", "2025-06-01", "req-7", "80% of platform-daily used", """{"percent":80}""");

        await store.AppendAsync(e, default);

        Assert.Equal(e, Assert.Single(await store.QueryAsync(new EventQuery(), default)));
    }

    [Fact]
    public async Task Event_with_only_required_fields_round_trips_nulls()
    {
        var store = Open();
        var e = new GatewayEvent("e1", T0, "gateway.started", null, null, null, null, "started", null);

        await store.AppendAsync(e, default);

        Assert.Equal(e, Assert.Single(await store.QueryAsync(new EventQuery(), default)));
    }

    [Fact]
    public async Task Duplicate_event_id_is_a_programming_error()
    {
        var store = Open();
        await store.AppendAsync(Event("e1", T0), default);

        Assert.True(IsDuplicateKeyError(await Assert.ThrowsAnyAsync<Exception>(() => store.AppendAsync(Event("e1", T0), default))));
        Assert.True(IsDuplicateKeyError(await Assert.ThrowsAnyAsync<Exception>(() => store.TryAppendOnceAsync("fresh", Event("e1", T0), default))));
    }

    [Fact]
    public async Task Try_append_once_writes_the_first_event_per_dedupe_key_only()
    {
        var store = Open();

        Assert.True(await store.TryAppendOnceAsync("platform-daily|2025-06-01|80", Event("e1", T0), default));
        Assert.False(await store.TryAppendOnceAsync("platform-daily|2025-06-01|80", Event("e2", T0), default));
        Assert.True(await store.TryAppendOnceAsync("platform-daily|2025-06-02|80", Event("e3", T0), default));
        await store.AppendAsync(Event("e4", T0), default);
        await store.AppendAsync(Event("e5", T0), default);

        Assert.Equal(["e5", "e4", "e3", "e1"], (await store.QueryAsync(new EventQuery(), default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Try_append_once_from_16_tasks_on_4_instances_appends_exactly_one()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Open()).ToArray();
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            start.Wait(TimeSpan.FromSeconds(10));
            return await stores[i % stores.Length].TryAppendOnceAsync("b|w|100", Event("e" + i, T0, "budget.threshold"), default);
        })).ToArray();
        start.Set();

        var results = await Task.WhenAll(attempts).WaitAsync(TimeSpan.FromSeconds(60), TimeProvider.System);

        Assert.Single(results, won => won);
        Assert.Single(await stores[0].QueryAsync(new EventQuery(), default));
    }

    [Fact]
    public async Task Query_filters_by_type_scope_and_half_open_time_range()
    {
        var store = Open();
        await store.AppendAsync(Event("a", T0, "budget.blocked", "key:a"), default);
        await store.AppendAsync(Event("b", T0.AddMinutes(1), "budget.threshold", "key:a"), default);
        await store.AppendAsync(Event("c", T0.AddMinutes(2), "budget.blocked", "key:b"), default);
        await store.AppendAsync(Event("d", T0.AddMinutes(3), "budget.blocked", null), default);

        async Task<string[]> Ids(EventQuery q) => [.. (await store.QueryAsync(q, default)).Select(e => e.Id)];

        Assert.Equal(["d", "c", "a"], await Ids(new EventQuery { Type = "budget.blocked" }));
        Assert.Equal(["b", "a"], await Ids(new EventQuery { Scope = "key:a" }));
        Assert.Equal(["a"], await Ids(new EventQuery { Type = "budget.blocked", Scope = "key:a" }));
        Assert.Equal(["c", "b"], await Ids(new EventQuery { From = T0.AddMinutes(1), To = T0.AddMinutes(3) }));
        Assert.Equal(["d"], await Ids(new EventQuery { From = T0.AddMinutes(3) }));
        Assert.Empty(await Ids(new EventQuery { Type = "budget.degraded" }));
    }

    [Fact]
    public async Task Query_is_newest_first_with_insertion_order_breaking_ties_and_honours_the_limit()
    {
        var store = Open();
        await store.AppendAsync(Event("old", T0.AddMinutes(-1)), default);
        await store.AppendAsync(Event("tie-1", T0), default);
        await store.AppendAsync(Event("tie-2", T0), default);
        await store.AppendAsync(Event("new", T0.AddMinutes(1)), default);

        Assert.Equal(["new", "tie-2", "tie-1", "old"], (await store.QueryAsync(new EventQuery(), default)).Select(e => e.Id));
        Assert.Equal(["new", "tie-2"], (await store.QueryAsync(new EventQuery { Limit = 2 }, default)).Select(e => e.Id));
        Assert.Equal(4, (await store.QueryAsync(new EventQuery { Limit = 0 }, default)).Count);
    }

    [Fact]
    public async Task Default_limit_is_1000()
    {
        var store = Open();
        for (var i = 0; i < 1001; i++)
        {
            await store.AppendAsync(Event("e" + i, T0.AddMilliseconds(i)), default);
        }

        var events = await store.QueryAsync(new EventQuery(), default);

        Assert.Equal(1000, events.Count);
        Assert.Equal("e1000", events[0].Id);
    }

    [Fact]
    public async Task Another_instance_sees_the_events_and_their_dedupe_keys()
    {
        var first = Open();
        Assert.True(await first.TryAppendOnceAsync("k", Event("e1", T0), default));

        var second = Open();

        Assert.False(await second.TryAppendOnceAsync("k", Event("e2", T0), default));
        Assert.Equal("e1", Assert.Single(await second.QueryAsync(new EventQuery(), default)).Id);
    }

    [Fact]
    public async Task Recorded_at_comes_from_the_time_provider_not_the_event()
    {
        var store = Open();
        Time.Advance(TimeSpan.FromSeconds(30));

        await store.AppendAsync(Event("e1", T0), default);

        Assert.Equal(T0.AddSeconds(30).ToUnixTimeMilliseconds(), await ScalarAsync("SELECT recorded_at FROM events;"));
        Assert.Equal(T0.ToUnixTimeMilliseconds(), await ScalarAsync("SELECT timestamp FROM events;"));
    }
}
