using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class BedtimeConfigTests
{
    private static readonly string Base = $"""
        teams:
          platform: {"{}"}
        providers:
          p: {"{ kind: openai }"}
        models:
          big: {"{ provider: p, upstream: gpt-4o }"}
          small: {"{ provider: p, upstream: gpt-4o-mini }"}
        keys:
          - id: agent-a
            hash: {Hash('a')}
            team: platform

        """;

    [Fact]
    public void Policies_per_key_and_team_map_every_field_with_defaults()
    {
        var config = ParseValid(Base + """
            bedtime:
              - scope: key:agent-a
                timezone: Europe/Oslo
                hours: "22:30-06:15"
                baseline_days: 14
                multiplier: 3.5
                floor_usd: 2.50
                degrade_model: small
              - scope: team:platform
            """);
        Assert.Equal(2, config.Bedtime.Count);
        var key = config.Bedtime[0];
        Assert.Equal(new ScopeRef(ScopeKind.Key, "agent-a"), key.Scope);
        Assert.Equal("Europe/Oslo", key.TimeZone);
        Assert.Equal(new TimeOnly(22, 30), key.SleepStart);
        Assert.Equal(new TimeOnly(6, 15), key.SleepEnd);
        Assert.Equal(14, key.BaselineDays);
        Assert.Equal(3.5m, key.Multiplier);
        Assert.Equal(Money.FromUsd(2.5m), key.Floor);
        Assert.Equal("small", key.DegradeModel);
        var team = config.Bedtime[1];
        Assert.True(team.Enabled);
        Assert.Equal("UTC", team.TimeZone);
        Assert.Equal("23:00-07:00", team.Hours);
        Assert.Equal(7, team.BaselineDays);
        Assert.Equal(2m, team.Multiplier);
        Assert.Equal(BedtimePolicy.DefaultFloor, team.Floor);
        Assert.Null(team.DegradeModel);
    }

    [Theory]
    [InlineData("timezone: Mars/Olympus", "bedtime[0].timezone", "unknown time zone")]
    [InlineData("hours: \"late-early\"", "bedtime[0].hours", "HH:mm-HH:mm")]
    [InlineData("multiplier: 1", "bedtime[0].multiplier", "greater than 1")]
    [InlineData("multiplier: 0.5", "bedtime[0].multiplier", "greater than 1")]
    [InlineData("baseline_days: 0", "bedtime[0].baseline_days", "")]
    [InlineData("floor_usd: -1", "bedtime[0].floor_usd", "negative")]
    [InlineData("degrade_model: nope", "bedtime[0].degrade_model", "chat model alias")]
    [InlineData("snooze: true", "bedtime[0]", "snooze")]
    public void Bad_fields_are_errors_naming_the_field(string field, string path, string message)
    {
        var error = SingleError(Base + "bedtime:\n  - scope: key:agent-a\n    " + field + "\n");
        Assert.Equal(path, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Line);
    }

    [Theory]
    [InlineData("key:ghost", "unknown key")]
    [InlineData("team:ghosts", "unknown team")]
    [InlineData("org:default", "a key or a team")]
    public void Scopes_must_be_a_declared_key_or_team(string scope, string message)
    {
        var error = SingleError(Base + "bedtime:\n  - scope: " + scope + "\n");
        Assert.Equal("bedtime[0].scope", error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
