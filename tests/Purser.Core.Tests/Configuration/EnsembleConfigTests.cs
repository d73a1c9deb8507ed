using Purser.Configuration;
using Purser.Ensembles;
using Purser.Pricing;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class EnsembleConfigTests
{
    private const string Base = """
        providers:
          p: { kind: openai }
        models:
          big: { provider: p, upstream: gpt-4o }
          small: { provider: p, upstream: gpt-4o-mini }
          embed: { provider: p, upstream: text-embedding-3-small, kind: embeddings }

        """;

    [Fact]
    public void Full_example_maps_every_field()
    {
        var config = ParseValid(Base + """
            routes:
              failover:
                targets: [big, small]
                cooldown_seconds: 5
            ensembles:
              trio:
                panel:
                  - big
                  - { model: small, temperature: 0.3, seed: 7 }
                  - failover
                judge: { model: big, synthesis_prompt: "Merge them." }
                min_responses: 2
                timeout_ms: 1500
                max_total_tokens: 9000
                max_panel_calls: 2
                max_cost_usd: "0.05"
                on_exceed: fail
                degrade_to: failover
            keys:
              - id: a
                hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                models: [trio, failover]
            """);

        var route = config.Routes["failover"];
        Assert.Equal(["big", "small"], route.Targets);
        Assert.Equal(5, route.CooldownSeconds);
        var trio = config.Ensembles["trio"];
        Assert.Equal([new PanelMember("big"), new PanelMember("small", 0.3, 7), new PanelMember("failover")], trio.Panel);
        Assert.Equal("big", trio.Judge);
        Assert.Equal("Merge them.", trio.SynthesisPrompt);
        Assert.Equal(2, trio.MinResponses);
        Assert.Equal(1500, trio.TimeoutMs);
        Assert.Equal(9000, trio.Guardrail.MaxTotalTokens);
        Assert.Equal(2, trio.Guardrail.MaxPanelCalls);
        Assert.Equal(Money.FromUsd(0.05m), trio.Guardrail.MaxCostUsd);
        Assert.Equal(ExceedAction.Fail, trio.Guardrail.OnExceed);
        Assert.Equal("failover", trio.Guardrail.DegradeTo);
    }

    [Fact]
    public void Defaults_are_min_two_responses_degrade_to_judge_and_the_built_in_prompt()
    {
        var config = ParseValid(Base + """
            ensembles:
              solo: { panel: [big], judge: small }
              pair: { panel: [big, small, big], judge: small }
            """);

        Assert.Equal(1, config.Ensembles["solo"].MinResponses);
        Assert.Equal(2, config.Ensembles["pair"].MinResponses);
        Assert.Equal(EnsembleConfig.DefaultSynthesisPrompt, config.Ensembles["pair"].SynthesisPrompt);
        Assert.Equal(ExceedAction.Degrade, config.Ensembles["pair"].Guardrail.OnExceed);
        Assert.Equal("judge", config.Ensembles["pair"].Guardrail.DegradeTo);
        Assert.False(config.Ensembles["pair"].Guardrail.HasCaps);
    }

    [Theory]
    [InlineData("ensembles:\n  e: { panel: [big, ghost], judge: small }", 8, "ensembles.e.panel[1]", "unknown model or route alias 'ghost'")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: ghost }", 8, "ensembles.e.judge", "unknown model or route alias 'ghost'")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, min_responses: 2 }", 8, "ensembles.e.min_responses", "larger than the panel")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, max_total_tokens: -1 }", 8, "ensembles.e.max_total_tokens", "must be at least 0")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, max_cost_usd: '-0.5' }", 8, "ensembles.e.max_cost_usd", "must not be negative")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, max_panel_calls: -2 }", 8, "ensembles.e.max_panel_calls", "must be at least 0")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, on_exceed: shrug }", 8, "ensembles.e.on_exceed", "expected degrade or fail")]
    [InlineData("ensembles:\n  e: { panel: [embed], judge: small }", 8, "ensembles.e.panel[0]", "embeddings model")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small, degrade_to: ghost }", 8, "ensembles.e.degrade_to", "unknown model or route alias")]
    [InlineData("ensembles:\n  e: { panel: [big], judge: small }\n  f: { panel: [e], judge: small }", 9, "ensembles.f.panel[0]", "is an ensemble")]
    [InlineData("ensembles:\n  big: { panel: [small], judge: small }", 8, "ensembles.big", "already a model alias")]
    [InlineData("routes:\n  r: { targets: [big, nowhere] }", 8, "routes.r.targets[1]", "unknown model or route alias 'nowhere'")]
    [InlineData("routes:\n  r: { targets: [] }", 8, "routes.r.targets", "at least one target")]
    public void Bad_input_is_refused_naming_the_field_and_line(string section, int line, string field, string message)
    {
        var error = SingleError(Base + section);
        Assert.Equal(field, error.Field);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_of_routes_is_refused_and_named()
    {
        var result = Parse(Base + """
            routes:
              a: { targets: [b] }
              b: { targets: [small, a] }
            """);

        Assert.False(result.Success);
        Assert.Contains(result.Errors, e => e.Field == "routes.a.targets" && e.Message.Contains("a -> b -> a", StringComparison.Ordinal));
    }
}
