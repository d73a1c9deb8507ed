using Purser.Budgets;
using Purser.Configuration;
using Purser.Pricing;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class BudgetConfigTests
{
    /// <summary>Providers, models, teams and keys every budget test can refer to; budgets are appended.</summary>
    private static readonly string Base = $"""
        organization: acme
        teams:
          platform: {"{}"}
          research:
        providers:
          p: {"{ kind: openai }"}
        models:
          big: {"{ provider: p, upstream: gpt-4o }"}
          sim-mini: {"{ provider: p, upstream: gpt-4o-mini }"}
          embed: {"{ provider: p, upstream: text-embedding-3-small, kind: embeddings }"}
        keys:
          - id: agent-a
            hash: {Hash('a')}
            team: platform
          - id: agent-b
            hash: {Hash('b')}

        """;

    private static ConfigError SingleBudgetError(string budgets) => SingleError(Base + budgets);

    [Fact]
    public void Full_valid_example_maps_every_field()
    {
        var config = ParseValid(Base + """
            budgets:
              - id: agent-a-daily
                scope: key:agent-a
                window: daily
                timezone: Europe/Oslo
                cap_usd: 5.00
                cap_tokens: 1000000
                enforcement: hard
                mode: reserve
                alert_thresholds: [50, 80, 100]
                degrade: { fallback_model: sim-mini, min_max_tokens: 256 }
              - id: platform-monthly
                scope: team:platform
                window: monthly
                cap_usd: 0.000000001
                enforcement: soft
                mode: post_hoc
                alert_thresholds: [10, 99]
              - id: acme-lifetime
                scope: org:acme
                window: LIFETIME
                cap_tokens: 0
                alert_thresholds: []
            """);

        Assert.Equal("acme", config.Organization);
        Assert.Equal(new TeamConfig("platform"), config.Teams["platform"]);
        Assert.Equal(new TeamConfig("research"), config.Teams["research"]);
        Assert.Equal("platform", config.Keys[0].Team);
        Assert.Null(config.Keys[1].Team);
        Assert.Equal(3, config.Budgets.Count);

        var daily = config.Budgets[0];
        Assert.Equal("agent-a-daily", daily.Id);
        Assert.Equal(new ScopeRef(ScopeKind.Key, "agent-a"), daily.Scope);
        Assert.Equal(BudgetWindowKind.Daily, daily.Window);
        Assert.Equal("Europe/Oslo", daily.TimeZone);
        Assert.Equal(Money.FromUsd(5m), daily.CapUsd);
        Assert.Equal(1_000_000L, daily.CapTokens);
        Assert.Equal(Enforcement.Hard, daily.Enforcement);
        Assert.Equal(AccountingMode.Reserve, daily.Mode);
        Assert.Equal([50, 80, 100], daily.AlertThresholds);
        Assert.Equal(new DegradeOptions { FallbackModel = "sim-mini", MinMaxTokens = 256 }, daily.Degrade);

        var monthly = config.Budgets[1];
        Assert.Equal(new ScopeRef(ScopeKind.Team, "platform"), monthly.Scope);
        Assert.Equal(BudgetWindowKind.Monthly, monthly.Window);
        Assert.Equal("UTC", monthly.TimeZone);
        Assert.Equal(new Money(1), monthly.CapUsd);
        Assert.Null(monthly.CapTokens);
        Assert.Equal(Enforcement.Soft, monthly.Enforcement);
        Assert.Equal(AccountingMode.PostHoc, monthly.Mode);
        Assert.Equal([10, 99], monthly.AlertThresholds);
        Assert.Null(monthly.Degrade);

        var lifetime = config.Budgets[2];
        Assert.Equal(new ScopeRef(ScopeKind.Organization, "acme"), lifetime.Scope);
        Assert.Equal(BudgetWindowKind.Lifetime, lifetime.Window);
        Assert.Null(lifetime.CapUsd);
        Assert.Equal(0L, lifetime.CapTokens);
        Assert.Empty(lifetime.AlertThresholds);
    }

    [Fact]
    public void Defaults_apply_when_the_new_sections_are_absent()
    {
        var config = ParseValid("server:\n  listen: http://127.0.0.1:8080\n");

        Assert.Equal("default", config.Organization);
        Assert.Empty(config.Teams);
        Assert.Empty(config.Budgets);
    }

    [Fact]
    public void Omitted_budget_fields_take_their_defaults()
    {
        var config = ParseValid(Base + "budgets:\n  - { id: b, scope: org:acme, cap_usd: 1 }\n");

        var budget = Assert.Single(config.Budgets);
        Assert.Equal(BudgetWindowKind.Daily, budget.Window);
        Assert.Equal("UTC", budget.TimeZone);
        Assert.Equal(Enforcement.Hard, budget.Enforcement);
        Assert.Equal(AccountingMode.Reserve, budget.Mode);
        Assert.Equal([50, 80, 100], budget.AlertThresholds);
        Assert.Null(budget.Degrade);
        Assert.Null(budget.CapTokens);
    }

    [Fact]
    public void Default_organization_scope_is_org_default()
    {
        var config = ParseValid("budgets:\n  - { id: b, scope: 'org:default', cap_tokens: 5 }\n");

        Assert.Equal(new ScopeRef(ScopeKind.Organization, "default"), Assert.Single(config.Budgets).Scope);
    }

    [Fact]
    public void Invalid_organization_id_is_an_error()
    {
        var error = SingleError("organization: acme corp\n");

        Assert.Equal("purser.yaml:1: organization: scope ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'", error.ToString());
    }

    [Fact]
    public void Invalid_team_id_is_an_error()
    {
        var error = SingleError("teams:\n  ok: {}\n  'bad team': {}\n");

        Assert.Equal("teams.bad team", error.Field);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Unknown_field_in_a_team_is_an_error()
    {
        var error = SingleError("teams:\n  platform:\n    budget: 5\n");

        Assert.Equal("purser.yaml:3: teams.platform: unknown field 'budget'", error.ToString());
    }

    [Fact]
    public void Key_team_must_be_a_defined_team()
    {
        var error = SingleError($"""
            teams:
              platform: {"{}"}
            keys:
              - id: k
                hash: {Hash('c')}
                team: platfrom
            """);

        Assert.Equal("purser.yaml:6: keys[0].team: unknown team 'platfrom' (define it under teams:)", error.ToString());
    }

    [Fact]
    public void Budget_id_is_required_valid_and_unique()
    {
        var result = Parse(Base + """
            budgets:
              - { scope: org:acme, cap_usd: 1 }
              - { id: 'has space', scope: org:acme, cap_usd: 1 }
              - { id: same, scope: org:acme, cap_usd: 1 }
              - { id: same, scope: org:acme, cap_usd: 1 }
            """);

        Assert.Null(result.Config);
        Assert.Equal(["budgets[0].id", "budgets[1].id", "budgets[3].id"], result.Errors.Select(e => e.Field));
        Assert.Equal("is required", result.Errors[0].Message);
        Assert.Contains("budget ids are", result.Errors[1].Message, StringComparison.Ordinal);
        Assert.Equal("duplicate budget id 'same' (also budgets[2])", result.Errors[2].Message);
        Assert.Equal(21, result.Errors[2].Line);
    }

    [Theory]
    [InlineData("org:other", "'org:other' is not this organisation (organization: acme)")]
    [InlineData("team:nobody", "unknown team in 'team:nobody' (define it under teams:)")]
    [InlineData("key:agent-z", "unknown key in 'key:agent-z' (define it under keys:)")]
    [InlineData("task:run-1", "task budgets are created at run time (x-budget-ceiling), not in the config file")]
    [InlineData("agent-a", "expected org:<organization>, team:<team>, key:<key>, tag:<tag>, global or user:*, got 'agent-a'")]
    [InlineData("user:bob", "expected org:<organization>, team:<team>, key:<key>, tag:<tag>, global or user:*, got 'user:bob'")]
    public void Budget_scope_must_name_a_defined_scope(string scope, string message)
    {
        var error = SingleBudgetError($"budgets:\n  - id: b\n    scope: '{scope}'\n    cap_usd: 1\n");

        Assert.Equal("budgets[0].scope", error.Field);
        Assert.Equal(19, error.Line);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Budget_scope_is_required()
    {
        var error = SingleBudgetError("budgets:\n  - id: b\n    cap_usd: 1\n");

        Assert.Equal("budgets[0].scope", error.Field);
        Assert.Equal("is required (org:acme, team:<team> or key:<key>)", error.Message);
    }

    [Fact]
    public void Budget_on_a_key_that_has_its_own_error_reports_only_the_key_error()
    {
        var result = Parse(Base + """
              - id: broken
                hash: not-a-hash
            budgets:
              - { id: b, scope: key:broken, cap_usd: 1 }
            """);

        Assert.Equal("keys[2].hash", Assert.Single(result.Errors).Field);
    }

    [Fact]
    public void Unknown_window_is_an_error()
    {
        var error = SingleBudgetError("budgets:\n  - { id: b, scope: org:acme, cap_usd: 1, window: fortnightly }\n");

        Assert.Equal("budgets[0].window", error.Field);
        Assert.Equal("unknown window 'fortnightly' (expected hourly, daily, weekly, monthly, lifetime, rolling_1h, rolling_24h or rolling_7d)", error.Message);
    }

    [Fact]
    public void Unknown_time_zone_is_an_error()
    {
        var error = SingleBudgetError("budgets:\n  - { id: b, scope: org:acme, cap_usd: 1, timezone: Europe/Atlantis }\n");

        Assert.Equal("budgets[0].timezone", error.Field);
        Assert.Equal("unknown time zone 'Europe/Atlantis' (expected an IANA name such as Europe/Oslo or UTC)", error.Message);
    }

    [Fact]
    public void A_budget_needs_at_least_one_cap()
    {
        var error = SingleBudgetError("budgets:\n  - id: b\n    scope: org:acme\n");

        Assert.Equal("budgets[0].cap_usd", error.Field);
        Assert.Equal(18, error.Line);
        Assert.StartsWith("give cap_usd, cap_tokens or both", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1", "must not be negative")]
    [InlineData("0.0000000001", "more than 9 decimal places or too large: amounts are exact to the nano-dollar")]
    [InlineData("99999999999999999999", "more than 9 decimal places or too large: amounts are exact to the nano-dollar")]
    [InlineData("five", "expected a decimal number of USD, got 'five'")]
    public void Cap_usd_must_be_an_exact_non_negative_amount(string cap, string message)
    {
        var error = SingleBudgetError($"budgets:\n  - {{ id: b, scope: org:acme, cap_usd: '{cap}' }}\n");

        Assert.Equal("budgets[0].cap_usd", error.Field);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("-1", "must be at least 0, got '-1'")]
    [InlineData("1.5", "expected a whole number, got '1.5'")]
    public void Cap_tokens_must_be_a_non_negative_whole_number(string cap, string message)
    {
        var error = SingleBudgetError($"budgets:\n  - {{ id: b, scope: org:acme, cap_tokens: '{cap}' }}\n");

        Assert.Equal("budgets[0].cap_tokens", error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Unknown_enforcement_and_mode_are_both_reported()
    {
        var result = Parse(Base + "budgets:\n  - { id: b, scope: org:acme, cap_usd: 1, enforcement: strict, mode: posthoc }\n");

        Assert.Equal(["budgets[0].enforcement", "budgets[0].mode"], result.Errors.Select(e => e.Field));
        Assert.Equal("unknown enforcement 'strict' (expected hard or soft)", result.Errors[0].Message);
        Assert.Equal("unknown mode 'posthoc' (expected reserve or post_hoc)", result.Errors[1].Message);
    }

    [Theory]
    [InlineData("[50, 50]", "budgets[0].alert_thresholds[1]", "thresholds must be strictly increasing: 50 follows 50")]
    [InlineData("[80, 50]", "budgets[0].alert_thresholds[1]", "thresholds must be strictly increasing: 50 follows 80")]
    [InlineData("[0, 50]", "budgets[0].alert_thresholds[0]", "must be between 1 and 100, got '0'")]
    [InlineData("[50, 101]", "budgets[0].alert_thresholds[1]", "must be between 1 and 100, got '101'")]
    [InlineData("50", "budgets[0].alert_thresholds", "expected a list, got a single value")]
    public void Alert_thresholds_are_increasing_percentages(string thresholds, string field, string message)
    {
        var error = SingleBudgetError($"budgets:\n  - {{ id: b, scope: org:acme, cap_usd: 1, alert_thresholds: {thresholds} }}\n");

        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("{ fallback_model: nope }", "budgets[0].degrade.fallback_model", "unknown model alias 'nope'")]
    [InlineData("{ fallback_model: embed }", "budgets[0].degrade.fallback_model", "'embed' is not a chat model")]
    [InlineData("{ min_max_tokens: 0 }", "budgets[0].degrade.min_max_tokens", "must be at least 1, got '0'")]
    [InlineData("{ fallback_modl: sim-mini }", "budgets[0].degrade", "unknown field 'fallback_modl' (did you mean 'fallback_model'?)")]
    public void Degrade_options_are_validated(string degrade, string field, string message)
    {
        var result = Parse(Base + $"budgets:\n  - {{ id: b, scope: org:acme, cap_usd: 1, degrade: {degrade} }}\n");

        Assert.Null(result.Config);
        Assert.Equal(field, result.Errors[0].Field);
        Assert.Equal(message, result.Errors[0].Message);
    }

    [Fact]
    public void Empty_degrade_mapping_is_an_error()
    {
        var error = SingleBudgetError("budgets:\n  - { id: b, scope: org:acme, cap_usd: 1, degrade: {} }\n");

        Assert.Equal("budgets[0].degrade", error.Field);
        Assert.Equal("give fallback_model, min_max_tokens, throttle_rpm or several", error.Message);
    }

    [Fact]
    public void Unknown_budget_field_is_an_error_with_a_suggestion()
    {
        var error = SingleBudgetError("budgets:\n  - { id: b, scope: org:acme, cap_usd: 1, windw: daily }\n");

        Assert.Equal("budgets[0]", error.Field);
        Assert.Equal("unknown field 'windw' (did you mean 'window'?)", error.Message);
    }

    [Fact]
    public void Every_budget_error_is_listed_in_line_order()
    {
        var result = Parse(Base + """
            budgets:
              - id: b1
                scope: team:ghost
                window: secondly
                cap_usd: -5
              - id: b2
                scope: org:acme
                cap_tokens: 10
                alert_thresholds: [90, 10]
            """);

        Assert.Null(result.Config);
        Assert.Equal(
            ["budgets[0].scope", "budgets[0].window", "budgets[0].cap_usd", "budgets[1].alert_thresholds[1]"],
            result.Errors.Select(e => e.Field));
        Assert.Equal([19, 20, 21, 25], result.Errors.Select(e => e.Line ?? 0));
    }

    [Fact]
    public void Budget_values_from_the_environment_are_not_echoed_in_errors()
    {
        var error = SingleError(Base + "budgets:\n  - { id: b, scope: org:acme, cap_usd: '${CAP}' }\n", new() { ["CAP"] = "hunter2" });

        Assert.Equal("budgets[0].cap_usd", error.Field);
        Assert.Equal("expected a decimal number of USD, got the value of ${CAP}", error.Message);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }
}
