using Microsoft.Extensions.Time.Testing;
using Purser.Admin;
using Purser.Budgets;
using Purser.Keys;
using Purser.Pricing;

namespace Purser.Ledger.Contract;

/// <summary>
/// The rules of <see cref="IAdminStore"/> (keys, budgets, stored routes and ensembles), run against every store
/// (SQLite and PostgreSQL). Each <see cref="Open"/> is another instance on the same database, as another process has.
/// </summary>
public abstract class AdminStoreContractTests
{
    protected static readonly DateTimeOffset Created = new(2025, 6, 1, 9, 30, 15, 123, TimeSpan.Zero);

    protected FakeTimeProvider Time { get; } = new(Created);

    /// <summary>A store on the test's database; each call is another instance on the same database.</summary>
    protected abstract IAdminStore Open();

    protected static StoredKey Key(string id, string secret, string? team = null) =>
        new(id, KeyHasher.Hash(secret), team, [], null, Created, null);

    protected static BudgetDefinition FullBudget(string id) => new()
    {
        Id = id,
        Scope = new ScopeRef(ScopeKind.Key, "agent-a"),
        Window = BudgetWindowKind.Monthly,
        TimeZone = "Europe/Oslo",
        CapUsd = new Money(5_000_000_001),
        CapTokens = 1_000_000,
        Enforcement = Enforcement.Soft,
        Mode = AccountingMode.PostHoc,
        AlertThresholds = [25, 50, 99],
        Degrade = new DegradeOptions { FallbackModel = "sim-mini", MinMaxTokens = 256, ThrottleRpm = 30 },
    };

    protected static BudgetDefinition TaskBudget(string id, long capNano) => new()
    {
        Id = id,
        Scope = new ScopeRef(ScopeKind.Task, "run-42"),
        Window = BudgetWindowKind.Lifetime,
        CapUsd = new Money(capNano),
    };

    [Fact]
    public async Task Aliases_round_trip_replace_by_alias_and_delete_by_kind()
    {
        var store = Open();
        await store.UpsertAliasAsync(new StoredAlias("r", AliasKind.Route, """{"targets": ["a"]}""", Created), default);
        await store.UpsertAliasAsync(new StoredAlias("e", AliasKind.Ensemble, """{"panel": ["a"], "judge": "é"}""", Created), default);
        await store.UpsertAliasAsync(new StoredAlias("r", AliasKind.Route, """{"targets": ["b"]}""", Created.AddMinutes(1)), default);

        var aliases = await Open().ListAliasesAsync(default);
        Assert.Equal(["e", "r"], aliases.Select(a => a.Alias));
        Assert.Equal(new StoredAlias("e", AliasKind.Ensemble, """{"panel": ["a"], "judge": "é"}""", Created), aliases[0]);
        Assert.Equal("""{"targets": ["b"]}""", aliases[1].Definition);
        Assert.Equal(Created.AddMinutes(1), aliases[1].UpdatedAt);

        Assert.False(await store.DeleteAliasAsync(AliasKind.Ensemble, "r", default));
        Assert.True(await store.DeleteAliasAsync(AliasKind.Route, "r", default));
        Assert.Equal("e", Assert.Single(await store.ListAliasesAsync(default)).Alias);
    }

    [Fact]
    public async Task Key_round_trips_every_field()
    {
        var store = Open();
        var expires = new DateTimeOffset(2027, 1, 1, 2, 0, 0, 500, TimeSpan.FromHours(2));
        var key = new StoredKey("agent-a", KeyHasher.Hash("s1"), "platform", ["gpt-4o-mini", "odd,alias\"x"], expires, Created, null);

        Assert.True(await store.TryCreateKeyAsync(key, default));

        var stored = Assert.Single(await store.ListKeysAsync(default));
        Assert.Equal("agent-a", stored.Id);
        Assert.Equal(KeyHasher.Hash("s1"), stored.Hash);
        Assert.Equal("platform", stored.Team);
        Assert.Equal(["gpt-4o-mini", "odd,alias\"x"], stored.AllowedModels);
        Assert.Equal(expires, stored.ExpiresAt);
        Assert.Equal(TimeSpan.Zero, stored.ExpiresAt!.Value.Offset);
        Assert.Equal(Created, stored.CreatedAt);
        Assert.Null(stored.RevokedAt);
        Assert.False(stored.IsRevoked);
    }

    [Fact]
    public async Task Key_with_no_team_models_or_expiry_round_trips_as_nulls_and_empty()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("ci", "s2"), default));

        var stored = Assert.Single(await store.ListKeysAsync(default));
        Assert.Null(stored.Team);
        Assert.Empty(stored.AllowedModels);
        Assert.Null(stored.ExpiresAt);
    }

    [Fact]
    public async Task Duplicate_key_id_or_hash_is_refused_and_nothing_changes()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("a", "secret-a", team: "t1"), default));

        Assert.False(await store.TryCreateKeyAsync(Key("a", "secret-other"), default));
        Assert.False(await store.TryCreateKeyAsync(Key("b", "secret-a"), default));

        var stored = Assert.Single(await store.ListKeysAsync(default));
        Assert.Equal(KeyHasher.Hash("secret-a"), stored.Hash);
        Assert.Equal("t1", stored.Team);
    }

    [Fact]
    public async Task Malformed_hash_is_a_programming_error()
    {
        var store = Open();

        await Assert.ThrowsAsync<ArgumentException>(() => store.TryCreateKeyAsync(Key("a", "s") with { Hash = "sha256:ABC" }, default));
        Assert.Empty(await store.ListKeysAsync(default));
    }

    [Fact]
    public async Task Keys_are_listed_by_id_including_revoked_ones()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("zeta", "s1"), default));
        Assert.True(await store.TryCreateKeyAsync(Key("alpha", "s2"), default));
        Assert.True(await store.RevokeKeyAsync("zeta", Created.AddHours(1), default));

        var keys = await store.ListKeysAsync(default);

        Assert.Equal(["alpha", "zeta"], keys.Select(k => k.Id));
        Assert.True(keys[1].IsRevoked);
    }

    [Fact]
    public async Task Update_replaces_every_field_by_id_and_reports_absent_ids()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("a", "old-secret"), default));
        var updated = new StoredKey("a", KeyHasher.Hash("new-secret"), "research", ["m1"], Created.AddDays(30), Created.AddSeconds(1), null);

        Assert.True(await store.UpdateKeyAsync(updated, default));
        Assert.False(await store.UpdateKeyAsync(updated with { Id = "missing" }, default));

        var stored = Assert.Single(await store.ListKeysAsync(default));
        Assert.Equal(KeyHasher.Hash("new-secret"), stored.Hash);
        Assert.Equal("research", stored.Team);
        Assert.Equal(["m1"], stored.AllowedModels);
        Assert.Equal(Created.AddDays(30), stored.ExpiresAt);
        Assert.Equal(Created.AddSeconds(1), stored.CreatedAt);
    }

    [Fact]
    public async Task Update_to_another_keys_hash_is_refused()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("a", "sa"), default));
        Assert.True(await store.TryCreateKeyAsync(Key("b", "sb"), default));

        Assert.False(await store.UpdateKeyAsync(Key("b", "sa"), default));

        var keys = await store.ListKeysAsync(default);
        Assert.Equal(KeyHasher.Hash("sb"), keys[1].Hash);
    }

    [Fact]
    public async Task Revoke_sets_the_time_once_and_refuses_absent_or_already_revoked_keys()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("a", "s"), default));
        var at = Created.AddMinutes(5);

        Assert.True(await store.RevokeKeyAsync("a", at, default));
        Assert.False(await store.RevokeKeyAsync("a", at.AddMinutes(1), default));
        Assert.False(await store.RevokeKeyAsync("nobody", at, default));

        Assert.Equal(at, Assert.Single(await store.ListKeysAsync(default)).RevokedAt);
    }

    [Fact]
    public async Task Revoked_keys_hash_cannot_be_reused()
    {
        var store = Open();
        Assert.True(await store.TryCreateKeyAsync(Key("a", "s"), default));
        Assert.True(await store.RevokeKeyAsync("a", Created, default));

        Assert.False(await store.TryCreateKeyAsync(Key("b", "s"), default));
    }

    [Fact]
    public async Task Budget_round_trips_every_field()
    {
        var store = Open();
        var budget = FullBudget("agent-a-monthly");

        await store.UpsertBudgetAsync(budget, default);

        var stored = Assert.Single(await store.ListBudgetsAsync(default));
        Assert.Equal(budget.Id, stored.Id);
        Assert.Equal(budget.Scope, stored.Scope);
        Assert.Equal(BudgetWindowKind.Monthly, stored.Window);
        Assert.Equal("Europe/Oslo", stored.TimeZone);
        Assert.Equal(new Money(5_000_000_001), stored.CapUsd);
        Assert.Equal(1_000_000L, stored.CapTokens);
        Assert.Equal(Enforcement.Soft, stored.Enforcement);
        Assert.Equal(AccountingMode.PostHoc, stored.Mode);
        Assert.Equal([25, 50, 99], stored.AlertThresholds);
        Assert.Equal(budget.Degrade, stored.Degrade);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task Budget_optional_fields_round_trip_as_null_or_empty(bool withUsd, bool withTokens)
    {
        var store = Open();
        var budget = new BudgetDefinition
        {
            Id = "b",
            Scope = new ScopeRef(ScopeKind.Organization, "acme"),
            CapUsd = withUsd ? Money.Zero : null,
            CapTokens = withTokens ? 0 : null,
            AlertThresholds = [],
            Degrade = withUsd ? null : new DegradeOptions { MinMaxTokens = withTokens ? 64 : null, FallbackModel = "mini" },
        };

        await store.UpsertBudgetAsync(budget, default);

        var stored = Assert.Single(await store.ListBudgetsAsync(default));
        Assert.Equal(budget.CapUsd, stored.CapUsd);
        Assert.Equal(budget.CapTokens, stored.CapTokens);
        Assert.Empty(stored.AlertThresholds);
        Assert.Equal(budget.Degrade, stored.Degrade);
        Assert.Equal("UTC", stored.TimeZone);
        Assert.Equal(BudgetWindowKind.Daily, stored.Window);
    }

    [Fact]
    public async Task Budget_without_degrade_round_trips_as_null()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("b") with { Degrade = null }, default);

        Assert.Null(Assert.Single(await store.ListBudgetsAsync(default)).Degrade);
    }

    [Fact]
    public async Task Degrade_with_only_a_throttle_round_trips()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("b") with { Degrade = new DegradeOptions { ThrottleRpm = 2 } }, default);
        Assert.Equal(new DegradeOptions { ThrottleRpm = 2 }, Assert.Single(await store.ListBudgetsAsync(default)).Degrade);

        await store.UpsertBudgetAsync(FullBudget("b") with { Degrade = new DegradeOptions { MinMaxTokens = 9 } }, default);
        Assert.Equal(new DegradeOptions { MinMaxTokens = 9 }, Assert.Single(await store.ListBudgetsAsync(default)).Degrade);
    }

    [Fact]
    public async Task Degrade_with_neither_step_reads_back_as_no_degrade()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("b") with { Degrade = new DegradeOptions() }, default);

        Assert.Null(Assert.Single(await store.ListBudgetsAsync(default)).Degrade);
    }

    [Fact]
    public async Task Try_create_budget_inserts_only_when_absent()
    {
        var store = Open();

        Assert.True(await store.TryCreateBudgetAsync(TaskBudget("task:run-42", 100), default));
        Assert.False(await store.TryCreateBudgetAsync(TaskBudget("task:run-42", 999), default));

        Assert.Equal(new Money(100), Assert.Single(await store.ListBudgetsAsync(default)).CapUsd);
    }

    [Fact]
    public async Task Try_create_budget_racing_from_8_tasks_creates_exactly_one()
    {
        // Each task has its own store, as each gateway instance would.
        var stores = Enumerable.Range(0, 8).Select(_ => Open()).ToArray();
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(1, 8).Select(i => Task.Run(async () =>
        {
            var store = stores[i - 1];
            start.Wait(TimeSpan.FromSeconds(10));
            return (Won: await store.TryCreateBudgetAsync(TaskBudget("task-budget", i), default), Cap: i);
        })).ToArray();
        start.Set();

        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results, r => r.Won);
        var stored = Assert.Single(await Open().ListBudgetsAsync(default));
        Assert.Equal(new Money(winner.Cap), stored.CapUsd);
    }

    [Fact]
    public async Task Budgets_are_listed_by_id_and_delete_reports_absence()
    {
        var store = Open();
        await store.UpsertBudgetAsync(FullBudget("zz"), default);
        await store.UpsertBudgetAsync(FullBudget("aa"), default);

        Assert.Equal(["aa", "zz"], (await store.ListBudgetsAsync(default)).Select(b => b.Id));
        Assert.True(await store.DeleteBudgetAsync("zz", default));
        Assert.False(await store.DeleteBudgetAsync("zz", default));
        Assert.False(await store.DeleteBudgetAsync("never", default));
        Assert.Equal(["aa"], (await store.ListBudgetsAsync(default)).Select(b => b.Id));
    }

    [Fact]
    public async Task Another_instance_on_the_same_database_reads_keys_and_budgets()
    {
        var first = Open();
        Assert.True(await first.TryCreateKeyAsync(Key("a", "s", team: "platform"), default));
        Assert.True(await first.RevokeKeyAsync("a", Created.AddDays(1), default));
        await first.UpsertBudgetAsync(FullBudget("b"), default);

        var second = Open();

        var key = Assert.Single(await second.ListKeysAsync(default));
        Assert.Equal("platform", key.Team);
        Assert.Equal(Created.AddDays(1), key.RevokedAt);
        var budget = Assert.Single(await second.ListBudgetsAsync(default));
        Assert.Equal(FullBudget("b").Degrade, budget.Degrade);
        Assert.Equal([25, 50, 99], budget.AlertThresholds);
    }

    [Fact]
    public async Task End_user_tag_and_global_budgets_round_trip_their_scope_under_model_and_window()
    {
        var store = Open();
        var budget = new BudgetDefinition
        {
            Id = "per-user",
            Scope = ScopeRef.EndUserTemplate,
            Under = new ScopeRef(ScopeKind.Team, "research"),
            Model = "gpt-4o",
            Window = BudgetWindowKind.Hourly,
            CapUsd = Money.FromUsd(1m),
        };

        await store.UpsertBudgetAsync(budget with { Window = BudgetWindowKind.Weekly }, default);
        await store.UpsertBudgetAsync(budget, default);
        await store.UpsertBudgetAsync(new BudgetDefinition { Id = "weekly-tag", Scope = new ScopeRef(ScopeKind.Tag, "batch"), Window = BudgetWindowKind.Weekly, CapUsd = Money.FromUsd(2m) }, default);
        await store.UpsertBudgetAsync(new BudgetDefinition { Id = "whole", Scope = ScopeRef.Global, Window = BudgetWindowKind.Rolling24h, CapUsd = Money.FromUsd(3m) }, default);

        var stored = await Open().ListBudgetsAsync(default);
        var perUser = stored.Single(b => b.Id == "per-user");
        Assert.Equal(budget with { AlertThresholds = perUser.AlertThresholds }, perUser);
        Assert.Equal(BudgetWindowKind.Weekly, stored.Single(b => b.Id == "weekly-tag").Window);
        Assert.Equal(new ScopeRef(ScopeKind.Tag, "batch"), stored.Single(b => b.Id == "weekly-tag").Scope);
        Assert.Equal((ScopeRef.Global, BudgetWindowKind.Rolling24h), (stored.Single(b => b.Id == "whole").Scope, stored.Single(b => b.Id == "whole").Window));
        Assert.Null(stored.Single(b => b.Id == "whole").Under);
    }
}
