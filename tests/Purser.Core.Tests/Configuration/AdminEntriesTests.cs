using CsCheck;
using Purser.Configuration;

namespace Purser.Core.Tests.Configuration;

/// <summary>
/// Admin bodies are read by the file's own section types: an entry the file accepts is accepted from JSON and builds the
/// same value; a value of the wrong JSON type is an error naming the field; hostile bodies never throw.
/// </summary>
public sealed class AdminEntriesTests
{
    private const string Yaml = """
        organization: acme
        teams: { platform: {} }
        providers: { p: { kind: openai, api_key: k } }
        models:
          gpt-4o-mini: { provider: p }
          embed: { provider: p, kind: embeddings, price: { input: 0.1, output: 0 } }
        keys:
          - { id: file-key, hash: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", team: platform }
        budgets:
          - { id: daily, scope: team:platform, window: weekly, cap_usd: 12.5, cap_tokens: 900, enforcement: soft, alert_thresholds: [10, 90], degrade: { fallback_model: gpt-4o-mini, throttle_rpm: 30 } }
        bedtime:
          - { scope: key:file-key, hours: "22:00-06:00", baseline_days: 9, multiplier: 2.5, floor_usd: 0.75, degrade_model: gpt-4o-mini }
        """;

    private static readonly PurserConfig Config = ConfigTestHelper.ParseValid(Yaml);

    [Fact]
    public void A_budget_and_a_policy_of_the_file_read_from_json_are_the_same_values()
    {
        var (budget, errors) = AdminEntries.ReadBudget(Config, ["file-key"], "daily", """
            {"scope":"team:platform","window":"weekly","cap_usd":"12.5","cap_tokens":900,"enforcement":"soft","alert_thresholds":[10,90],"degrade":{"fallback_model":"gpt-4o-mini","throttle_rpm":30}}
            """);
        Assert.Empty(errors);
        var file = Config.Budgets[0];
        Assert.Equal(file with { AlertThresholds = [], Degrade = null }, budget! with { AlertThresholds = [], Degrade = null });
        Assert.Equal(file.AlertThresholds, budget!.AlertThresholds);
        Assert.Equal(file.Degrade, budget.Degrade);

        var (policy, policyErrors) = AdminEntries.ReadBedtime(Config, ["file-key"], "key:file-key", """
            {"hours":"22:00-06:00","baseline_days":9,"multiplier":2.5,"floor_usd":"0.75","degrade_model":"gpt-4o-mini"}
            """);
        Assert.Empty(policyErrors);
        Assert.Equal(Config.Bedtime[0], policy);
    }

    [Theory]
    [InlineData("""{"scope":"team:platform","cap_usd":true}""", "budgets.b.cap_usd", "expected a number or a decimal string, got a boolean")]
    [InlineData("""{"scope":"team:platform","cap_tokens":"5"}""", "budgets.b.cap_tokens", "expected a whole number, got a string")]
    [InlineData("""{"scope":7,"cap_usd":1}""", "budgets.b.scope", "expected a string, got a number")]
    [InlineData("""{"scope":"team:platform","cap_usd":79300000000000000000}""", "budgets.b.cap_usd", "more than 9 decimal places or too large: amounts are exact to the nano-dollar")]
    [InlineData("""{"scope":"team:platform","cap_usd":"-0.5"}""", "budgets.b.cap_usd", "must not be negative")]
    [InlineData("""{"scope":"team:platform","cap_usd":1,"id":"other"}""", "budgets.b.id", "the body's id 'other' differs from the id in the path ('b')")]
    [InlineData("""{"scope":"task:run","cap_usd":1}""", "budgets.b.scope", "task budgets are created at run time (x-budget-ceiling), not in the config file")]
    public void A_budget_body_error_names_its_field(string body, string field, string message)
    {
        var (budget, errors) = AdminEntries.ReadBudget(Config, ["file-key"], "b", body);
        Assert.Null(budget);
        var error = Assert.Single(errors);
        Assert.Equal(field, error.Field);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Every_error_of_a_body_is_listed()
    {
        var (_, errors) = AdminEntries.ReadKey(Config, """{"id":"k","team":5,"models":["nope"],"expires_at":1,"trust_tags":"yes","hash":"x"}""");
        Assert.Equal(["keys", "keys.expires_at", "keys.models[0]", "keys.team", "keys.trust_tags"], errors.Select(e => e.Field).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_key_body_is_read_by_the_file_rules_without_a_hash()
    {
        var (key, errors) = AdminEntries.ReadKey(Config, """{"id":"new-key","team":"platform","models":["gpt-4o-mini"],"expires_at":"2030-01-01T00:00:00+02:00","trust_end_user":true}""");
        Assert.Empty(errors);
        Assert.Equal("new-key", key!.Id);
        Assert.Equal("platform", key.Team);
        Assert.Equal(["gpt-4o-mini"], key.AllowedModels);
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)), key.ExpiresAt);
        Assert.True(key.TrustEndUser);
        Assert.Equal(string.Empty, key.Hash);
    }

    /// <summary>Any body of known and unknown fields and hostile values: a value or errors under the resource, never a throw.</summary>
    [Fact]
    public void Hostile_bodies_give_a_value_or_errors_under_the_resource_and_never_throw()
    {
        var fields = Gen.OneOf(
            Gen.Const("id"), Gen.Const("scope"), Gen.Const("cap_usd"), Gen.Const("cap_tokens"), Gen.Const("degrade"), Gen.Const("alert_thresholds"),
            Gen.Const("team"), Gen.Const("models"), Gen.Const("expires_at"), Gen.Const("hours"), Gen.Const("multiplier"), Gen.Const("floor_usd"), Gen.Const("x"));
        var values = Gen.OneOf(
            Gen.Const("\"team:platform\""), Gen.Const("\"key:file-key\""), Gen.Const("\"gpt-4o-mini\""), Gen.Const("null"), Gen.Const("true"), Gen.Const("1e400"),
            Gen.Const("79300000000000000000"), Gen.Const("\"NaN\""), Gen.Const("-1"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("[\"x\", 5]"),
            Gen.Const("\"${HOME}\""), Gen.Const("\"a: b\""), Gen.Const("\"- x\""), Gen.Const("\"\\u00e9\""), Gen.Long.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            Gen.Decimal.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var bodies = Gen.Select(fields, values).Array[0, 6]
            .Select(pairs => "{" + string.Join(",", pairs.DistinctBy(p => p.Item1).Select(p => "\"" + p.Item1 + "\":" + p.Item2)) + "}");
        bodies.Sample(body =>
        {
            var (budget, budgetErrors) = AdminEntries.ReadBudget(Config, ["file-key"], "b", body);
            var (policy, policyErrors) = AdminEntries.ReadBedtime(Config, ["file-key"], "team:platform", body);
            var (key, keyErrors) = AdminEntries.ReadKey(Config, body);
            return (budget is null) == (budgetErrors.Count > 0) && budgetErrors.All(e => e.Field.StartsWith("budgets.b", StringComparison.Ordinal))
                && (policy is null) == (policyErrors.Count > 0) && policyErrors.All(e => e.Field.StartsWith("bedtime.team:platform", StringComparison.Ordinal))
                && (key is null) == (keyErrors.Count > 0) && keyErrors.All(e => e.Field.StartsWith("keys", StringComparison.Ordinal));
        }, iter: 2000);
    }
}
