using Purser.Budgets;
using Purser.Configuration;
using Purser.RateLimits;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

/// <summary>The rate_limits section, and the same rules applied to an admin API body (JSON is YAML).</summary>
public sealed class RateLimitConfigTests
{
    private static readonly string Base = $"""
        organization: acme
        teams:
          research: {"{}"}
        providers:
          p: {"{ kind: openai }"}
        models:
          gpt-4o: {"{ provider: p }"}
          sim-mini: {"{ provider: p, upstream: gpt-4o-mini }"}
        keys:
          - id: agent-a
            hash: {Hash('a')}
            team: research

        """;

    [Fact]
    public void The_issue_example_maps_every_field()
    {
        var config = ParseValid(Base + """
            rate_limits:
              - { id: agent-a-rpm, scope: "key:agent-a", requests_per_minute: 60, tokens_per_minute: 200000, max_concurrent: 4 }
              - { id: gpt4o-team,  scope: "team:research", model: gpt-4o, tokens_per_minute: 1000000 }
              - { id: run-42, scope: "task:run-42", requests_per_minute: 5 }
            """);
        Assert.Equal(3, config.RateLimits.Count);
        var a = config.RateLimits[0];
        Assert.Equal(new ScopeRef(ScopeKind.Key, "agent-a"), a.Scope);
        Assert.Equal(60, a.RequestsPerMinute);
        Assert.Equal(200000, a.TokensPerMinute);
        Assert.Equal(4, a.MaxConcurrent);
        Assert.Null(a.Model);
        var team = config.RateLimits[1];
        Assert.Equal("gpt-4o", team.Model);
        Assert.Null(team.RequestsPerMinute);
        Assert.True(team.AppliesTo("gpt-4o"));
        Assert.False(team.AppliesTo("sim-mini"));
        Assert.Equal(ScopeKind.Task, config.RateLimits[2].Scope.Kind);
    }

    [Theory]
    [InlineData("- { id: x, scope: \"key:agent-a\" }", "rate_limits[0]", "give requests_per_minute")]
    [InlineData("- { id: x, scope: \"key:nobody\", requests_per_minute: 1 }", "rate_limits[0].scope", "unknown key")]
    [InlineData("- { id: x, scope: \"team:nobody\", requests_per_minute: 1 }", "rate_limits[0].scope", "unknown team")]
    [InlineData("- { id: x, scope: \"org:other\", requests_per_minute: 1 }", "rate_limits[0].scope", "is not this organisation")]
    [InlineData("- { id: x, scope: \"user\", requests_per_minute: 1 }", "rate_limits[0].scope", "expected org:")]
    [InlineData("- { id: x, scope: \"key:agent-a\", under: \"key:agent-a\", requests_per_minute: 1 }", "rate_limits[0].under", "applies to a user:* rate limit only")]
    [InlineData("- { id: x, scope: \"user:*\", under: \"team:nobody\", requests_per_minute: 1 }", "rate_limits[0].under", "unknown team")]
    [InlineData("- { id: x, scope: \"user:*\", under: \"org:acme\", requests_per_minute: 1 }", "rate_limits[0].under", "expected key:")]
    [InlineData("- { id: x, scope: \"key:agent-a\", model: nope, requests_per_minute: 1 }", "rate_limits[0].model", "unknown model alias")]
    [InlineData("- { id: x, scope: \"key:agent-a\", requests_per_minute: 0 }", "rate_limits[0].requests_per_minute", "between 1 and")]
    [InlineData("- { id: x, scope: \"key:agent-a\", tokens_per_minute: 1000000000001 }", "rate_limits[0].tokens_per_minute", "between 1 and")]
    [InlineData("- { id: x, scope: \"key:agent-a\", max_concurrent: 1.5 }", "rate_limits[0].max_concurrent", "whole number")]
    [InlineData("- { id: x, scope: \"key:agent-a\", requests_per_minute: 1, burst: 3 }", "rate_limits[0]", "burst")]
    [InlineData("- { scope: \"key:agent-a\", requests_per_minute: 1 }", "rate_limits[0].id", "is required")]
    [InlineData("- { id: \"a b\", scope: \"key:agent-a\", requests_per_minute: 1 }", "rate_limits[0].id", "rate limit ids")]
    public void Each_wrong_field_is_one_error_naming_it_and_its_line(string entry, string field, string message)
    {
        var yaml = Base + "rate_limits:\n  " + entry + "\n";
        var error = SingleError(yaml);
        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(yaml.Split('\n').Length - 1, error.Line);
    }

    [Fact]
    public void Duplicate_ids_are_refused()
    {
        var error = SingleError(Base + """
            rate_limits:
              - { id: x, scope: "key:agent-a", requests_per_minute: 1 }
              - { id: x, scope: "team:research", requests_per_minute: 2 }
            """);
        Assert.Equal("rate_limits[1].id", error.Field);
        Assert.Contains("duplicate rate limit id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admin_body_goes_through_the_same_rules_with_stored_keys()
    {
        var file = ParseValid(Base);
        var (limit, errors) = RateLimitEntries.Parse(file, ["agent-a", "stored-key"], "s1", """{"scope":"key:stored-key","requests_per_minute":10,"max_concurrent":2}""");
        Assert.Empty(errors);
        Assert.Equal("s1", limit!.Id);
        Assert.Equal(10, limit.RequestsPerMinute);

        (limit, errors) = RateLimitEntries.Parse(file, ["agent-a"], "s1", """{"id":"other","scope":"key:agent-a","requests_per_minute":"ten"}""");
        Assert.Null(limit);
        Assert.Contains(errors, e => e.Field == "rate_limits.s1.id");
        Assert.Contains(errors, e => e.Field == "rate_limits.s1.requests_per_minute");

        (limit, errors) = RateLimitEntries.Parse(file, ["agent-a"], "s1", """{"scope":"key:agent-a","requests_per_minute":1,"requests_per_minute":2}""");
        Assert.Null(limit);
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Throttle_rpm_is_a_degrade_option()
    {
        var config = ParseValid(Base + """
            budgets:
              - { id: soft, scope: "key:agent-a", cap_usd: 1, enforcement: soft, degrade: { throttle_rpm: 6 } }
            """);
        Assert.Equal(6, config.Budgets[0].Degrade!.ThrottleRpm);
        var error = SingleError(Base + """
            budgets:
              - { id: soft, scope: "key:agent-a", cap_usd: 1, enforcement: soft, degrade: { throttle_rpm: 0 } }
            """);
        Assert.Equal("budgets[0].degrade.throttle_rpm", error.Field);
    }
}
