using Purser.Budgets;
using Purser.Gateway.Admin;
using Purser.Gateway.Dashboard;
using Purser.Pricing;
using Purser.Gateway.AdminServices;

namespace Purser.Gateway.Tests.Dashboard;

/// <summary>Which of a key's budgets the Keys page shows: the one a request would hit first.</summary>
public sealed class KeyBudgetsTests
{
    private static readonly WindowInstance Window = new("2026-11-24", DateTimeOffset.UnixEpoch, null);

    private static BudgetView View(string id, string scope, decimal? capUsd, decimal spentUsd, decimal heldUsd = 0, long? capTokens = null, long spentTokens = 0) => new(
        new BudgetDefinition
        {
            Id = id,
            Scope = ScopeRef.TryParse(scope, out var s) ? s.Value : throw new ArgumentException(scope),
            CapUsd = capUsd is { } c ? Money.FromUsd(c) : null,
            CapTokens = capTokens,
        },
        "api",
        Window,
        new CounterState(Money.FromUsd(spentUsd), Money.FromUsd(heldUsd), spentTokens, 0));

    [Fact]
    public void The_budget_nearest_its_cap_comes_first_whatever_its_id_or_order()
    {
        var byKey = KeyBudgets.ByKey(
        [
            View("a-roomy", "key:k", 100m, 1m),
            View("team-cap", "team:t", 1m, 1m),
            View("z-spent", "key:k", 5m, 5m),
            View("m-held", "key:k", 10m, 2m, heldUsd: 6m),
            View("other-key", "key:j", 5m, 0m),
        ]);

        Assert.Equal(["z-spent", "m-held", "a-roomy"], byKey["k"].Select(v => v.Budget.Id));
        Assert.Equal(["other-key"], byKey["j"].Select(v => v.Budget.Id));
        Assert.False(byKey.ContainsKey("t"));
    }

    [Fact]
    public void Tokens_count_when_they_are_the_tighter_cap_and_an_uncapped_budget_comes_last()
    {
        var byKey = KeyBudgets.ByKey(
        [
            View("uncapped", "key:k", null, 50m),
            View("money", "key:k", 10m, 5m),
            View("tokens", "key:k", 10m, 1m, capTokens: 1000, spentTokens: 900),
            View("zero", "key:k", 0m, 0m),
        ]);

        Assert.Equal(["zero", "tokens", "money", "uncapped"], byKey["k"].Select(v => v.Budget.Id));
        Assert.Equal(0.9, KeyBudgets.UsedShare(byKey["k"][1]), 3);
        Assert.Equal(-1, KeyBudgets.UsedShare(byKey["k"][3]));
    }

    [Fact]
    public void Equal_shares_go_to_the_budget_with_less_money_left_then_by_id()
    {
        var byKey = KeyBudgets.ByKey([View("b-big", "key:k", 100m, 50m), View("c-small", "key:k", 10m, 5m), View("a-small", "key:k", 10m, 5m)]);

        Assert.Equal(["a-small", "c-small", "b-big"], byKey["k"].Select(v => v.Budget.Id));
    }
}
