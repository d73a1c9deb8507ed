using Purser.Admin;
using Purser.Budgets;
using Purser.Pricing;
using Purser.Store.Postgres.Admin;
using Purser.Store.Postgres.Usage;
using Purser.Usage;

namespace Purser.Store.Postgres.Tests.Stores;

/// <summary>The usage and admin stores on PostgreSQL keep the SQLite stores' rules: idempotent records, newest first, one winner.</summary>
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

    [Fact]
    public async Task Aliases_round_trip_replace_by_alias_and_delete_by_kind()
    {
        var store = new PostgresAdminStore(_db, TimeProvider.System);
        var created = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
        await store.UpsertAliasAsync(new StoredAlias("r", AliasKind.Route, """{"targets": ["a"]}""", created), default);
        await store.UpsertAliasAsync(new StoredAlias("e", AliasKind.Ensemble, """{"panel": ["a"], "judge": "é"}""", created), default);
        await store.UpsertAliasAsync(new StoredAlias("r", AliasKind.Route, """{"targets": ["b"]}""", created.AddMinutes(1)), default);

        var aliases = await store.ListAliasesAsync(default);
        Assert.Equal(["e", "r"], aliases.Select(a => a.Alias));
        Assert.Equal(new StoredAlias("e", AliasKind.Ensemble, """{"panel": ["a"], "judge": "é"}""", created), aliases[0]);
        Assert.Equal("""{"targets": ["b"]}""", aliases[1].Definition);

        Assert.False(await store.DeleteAliasAsync(AliasKind.Ensemble, "r", default));
        Assert.True(await store.DeleteAliasAsync(AliasKind.Route, "r", default));
        Assert.Equal("e", Assert.Single(await store.ListAliasesAsync(default)).Alias);
    }

    [Fact]
    public async Task Admin_store_refuses_duplicates_and_a_hash_taken_by_another_key_and_lets_one_budget_creation_win()
    {
        var admin = new PostgresAdminStore(_db, TimeProvider.System);
        var a = new StoredKey("a", "sha256:" + new string('a', 64), "team-1", ["sim-chat"], null, T0, null);
        var b = a with { Id = "b", Hash = "sha256:" + new string('b', 64), Team = null, AllowedModels = [] };
        Assert.True(await admin.TryCreateKeyAsync(a, CancellationToken.None));
        Assert.True(await admin.TryCreateKeyAsync(b, CancellationToken.None));
        Assert.False(await admin.TryCreateKeyAsync(a with { Id = "c" }, CancellationToken.None));
        Assert.False(await admin.UpdateKeyAsync(b with { Hash = a.Hash }, CancellationToken.None));
        Assert.True(await admin.RevokeKeyAsync("b", T0.AddHours(1), CancellationToken.None));
        Assert.False(await admin.RevokeKeyAsync("b", T0.AddHours(2), CancellationToken.None));

        var keys = await admin.ListKeysAsync(CancellationToken.None);
        Assert.Equal(["a", "b"], keys.Select(k => k.Id));
        Assert.Equal(["sim-chat"], keys[0].AllowedModels);
        Assert.Equal(T0.AddHours(1), keys[1].RevokedAt);

        var budgets = Enumerable.Range(1, 8).Select(i => new BudgetDefinition
        {
            Id = "task:t",
            Scope = new ScopeRef(ScopeKind.Task, "t"),
            Window = BudgetWindowKind.Lifetime,
            CapUsd = Money.FromNano(i * 1_000),
            Enforcement = Enforcement.Hard,
            Mode = AccountingMode.Reserve,
        });
        var wins = await Task.WhenAll(budgets.Select(d => admin.TryCreateBudgetAsync(d, CancellationToken.None)));
        Assert.Single(wins, w => w);
        var stored = Assert.Single(await admin.ListBudgetsAsync(CancellationToken.None));
        Assert.Equal(Money.FromNano((Array.IndexOf(wins, true) + 1) * 1_000), stored.CapUsd);
        Assert.True(await admin.DeleteBudgetAsync("task:t", CancellationToken.None));
        Assert.False(await admin.DeleteBudgetAsync("task:t", CancellationToken.None));
    }

    [Fact]
    public async Task Usage_records_keep_end_user_and_tags_and_filter_by_them()
    {
        await using var store = new PostgresUsageStore(_db, null, TimeProvider.System);
        store.Record(Record("u1", "k1", T0, 1_000, null) with { EndUser = "alice@example.com", Tags = "batch,nightly" });
        store.Record(Record("u2", "k1", T0.AddSeconds(1), 1_000, null) with { EndUser = "bob", Tags = "batch_x" });
        store.Record(Record("u3", "k1", T0.AddSeconds(2), 1_000, null) with { EndUser = "alice@example.com" });
        await store.FlushAsync(CancellationToken.None);

        async Task<string[]> Ids(UsageQuery query) => [.. (await store.QueryAsync(query, CancellationToken.None)).Select(r => r.RequestId)];
        Assert.Equal(["u3", "u1"], await Ids(new UsageQuery { EndUser = "alice@example.com" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "batch" }));
        Assert.Equal(["u1"], await Ids(new UsageQuery { Tag = "nightly", EndUser = "alice@example.com" }));
        Assert.Equal(["u2"], await Ids(new UsageQuery { Tag = "batch_x" }));
        Assert.Empty(await Ids(new UsageQuery { Tag = "batch%" }));
        var read = (await store.QueryAsync(new UsageQuery { Tag = "batch" }, CancellationToken.None)).Single();
        Assert.Equal(("alice@example.com", "batch,nightly"), (read.EndUser, read.Tags));
    }

    [Fact]
    public async Task An_end_user_budget_round_trips_its_template_scope_under_model_and_window()
    {
        var admin = new PostgresAdminStore(_db, TimeProvider.System);
        var budget = new BudgetDefinition
        {
            Id = "per-user",
            Scope = ScopeRef.EndUserTemplate,
            Under = new ScopeRef(ScopeKind.Key, "agent-a"),
            Model = "gpt-4o",
            Window = BudgetWindowKind.Weekly,
            CapUsd = Money.FromUsd(1m),
        };

        await admin.UpsertBudgetAsync(budget, CancellationToken.None);
        await admin.UpsertBudgetAsync(budget with { Window = BudgetWindowKind.Hourly }, CancellationToken.None);
        var stored = Assert.Single(await admin.ListBudgetsAsync(CancellationToken.None));
        Assert.Equal((ScopeRef.EndUserTemplate, (ScopeRef?)new ScopeRef(ScopeKind.Key, "agent-a"), "gpt-4o", BudgetWindowKind.Hourly), (stored.Scope, stored.Under, stored.Model, stored.Window));
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
