using Purser.Budgets;
using Purser.Configuration;
using Purser.Pricing;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

/// <summary>The budget kinds of issue 15 in the file: end-user templates, tags, global, model narrowing, new windows, key trust.</summary>
public sealed class CallerBudgetConfigTests
{
    private static readonly string Base = $"""
        organization: acme
        server:
          max_end_users_per_budget: 50
        teams:
          research: {"{}"}
        providers:
          p: {"{ kind: openai }"}
        models:
          big: {"{ provider: p, upstream: gpt-4o }"}
          small: {"{ provider: p, upstream: gpt-4o-mini }"}
        keys:
          - id: agent-a
            hash: {Hash('a')}
            team: research
            trust_end_user: true
            trust_tags: true
          - id: agent-b
            hash: {Hash('b')}

        """;

    [Fact]
    public void Every_new_kind_maps_to_its_definition()
    {
        var config = ParseValid(Base + """
            budgets:
              - { id: per-user, scope: "user:*", under: "team:research", cap_usd: 1 }
              - { id: per-user-key, scope: "user:*", under: "key:agent-a", model: big, window: hourly, cap_usd: 0.5 }
              - { id: everyone, scope: "user:*", window: rolling_24h, cap_tokens: 1000 }
              - { id: batch, scope: "tag:batch", window: weekly, cap_usd: 10 }
              - { id: whole, scope: global, window: rolling_7d, cap_usd: 1000 }
              - { id: hour, scope: global, window: Rolling_1h, cap_usd: 5 }
            """);

        Assert.Equal(50, config.Server.MaxEndUsersPerBudget);
        Assert.True(config.Keys[0].TrustEndUser);
        Assert.True(config.Keys[0].TrustTags);
        Assert.False(config.Keys[1].TrustEndUser);
        Assert.False(config.Keys[1].TrustTags);

        var b = config.Budgets.ToDictionary(x => x.Id);
        Assert.Equal((ScopeRef.EndUserTemplate, (ScopeRef?)new ScopeRef(ScopeKind.Team, "research"), (string?)null), (b["per-user"].Scope, b["per-user"].Under, b["per-user"].Model));
        Assert.Equal((new ScopeRef(ScopeKind.Key, "agent-a"), "big", BudgetWindowKind.Hourly), (b["per-user-key"].Under!.Value, b["per-user-key"].Model, b["per-user-key"].Window));
        Assert.Null(b["everyone"].Under);
        Assert.Equal(BudgetWindowKind.Rolling24h, b["everyone"].Window);
        Assert.Equal((new ScopeRef(ScopeKind.Tag, "batch"), BudgetWindowKind.Weekly), (b["batch"].Scope, b["batch"].Window));
        Assert.Equal((ScopeRef.Global, BudgetWindowKind.Rolling7d, Money.FromUsd(1000m)), (b["whole"].Scope, b["whole"].Window, b["whole"].CapUsd!.Value));
        Assert.Equal(BudgetWindowKind.Rolling1h, b["hour"].Window);
        Assert.Equal("global", b["whole"].Scope.ToString());
        Assert.Equal("user:*", b["per-user"].Scope.ToString());
    }

    [Theory]
    [InlineData("""- { id: x, scope: "key:agent-a", under: "team:research", cap_usd: 1 }""", "budgets[0].under", "only a user:* budget")]
    [InlineData("""- { id: x, scope: "user:*", under: "org:acme", cap_usd: 1 }""", "budgets[0].under", "expected key:<key> or team:<team>")]
    [InlineData("""- { id: x, scope: "user:*", under: "team:nope", cap_usd: 1 }""", "budgets[0].under", "unknown team")]
    [InlineData("""- { id: x, scope: "user:alice", cap_usd: 1 }""", "budgets[0].scope", "user:*")]
    [InlineData("""- { id: x, scope: "tag:", cap_usd: 1 }""", "budgets[0].scope", "tag:<tag>")]
    [InlineData("""- { id: x, scope: global, model: nope, cap_usd: 1 }""", "budgets[0].model", "unknown model alias")]
    [InlineData("""- { id: x, scope: global, window: rolling_2h, cap_usd: 1 }""", "budgets[0].window", "rolling_24h")]
    public void A_wrong_field_is_one_error_that_names_it(string budget, string path, string message)
    {
        var error = SingleError(Base + "budgets:\n  " + budget + "\n");
        Assert.Equal(path, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_trust_flags_must_be_booleans()
    {
        var error = SingleError(Base.Replace("trust_tags: true", "trust_tags: maybe", StringComparison.Ordinal));
        Assert.Equal("keys[0].trust_tags", error.Field);
    }
}
