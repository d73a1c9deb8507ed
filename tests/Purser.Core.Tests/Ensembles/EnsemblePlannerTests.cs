using Purser.Ensembles;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Core.Tests.Ensembles;

public sealed class EnsemblePlannerTests
{
    // $1 in / $2 out per million; $10 / $30; $0.10 / $0.20.
    private static readonly ModelPrice Mid = new(1_000_000_000, 2_000_000_000);
    private static readonly ModelPrice Dear = new(10_000_000_000, 30_000_000_000);
    private static readonly ModelPrice Cheap = new(100_000_000, 200_000_000);

    private const long Input = 1000;

    private static EnsembleConfig Ensemble(EnsembleGuardrail guardrail, int members = 3, int minResponses = 2) => new()
    {
        Alias = "e",
        Panel = [.. Enumerable.Range(0, members).Select(i => new PanelMember("m" + i))],
        Judge = "j",
        SynthesisPrompt = "p",
        MinResponses = minResponses,
        Guardrail = guardrail,
    };

    private static readonly CallShape[] Panel = [CallShape.Single(Mid, 500), CallShape.Single(Dear, 500), CallShape.Single(Cheap, 500)];
    private static readonly CallShape Judge = CallShape.Single(Mid, 800);

    [Fact]
    public void Projection_sums_every_panel_call_and_a_judge_whose_input_holds_every_answer()
    {
        var (total, judge) = EnsemblePlanner.Project(Input, 1, Panel, [0, 1, 2], Judge);

        var judgeInput = Input + 1 + EnsemblePlanner.JudgeFramingBytes + (3 * ((500 * EnsemblePlanner.AnswerBytesPerToken) + EnsemblePlanner.AnswerFramingBytes));
        Assert.Equal(Mid.Cost(new TokenUsage(judgeInput, 800)), judge.Cost);
        var panelCost = Mid.Cost(new TokenUsage(Input, 500)) + Dear.Cost(new TokenUsage(Input, 500)) + Cheap.Cost(new TokenUsage(Input, 500));
        Assert.Equal(panelCost + judge.Cost, total.Cost);
        Assert.Equal((3 * (Input + 500)) + judgeInput + 800, total.Tokens);
    }

    [Fact]
    public void Without_caps_the_full_panel_runs()
    {
        var plan = EnsemblePlanner.Plan(Ensemble(new EnsembleGuardrail()), Input, Panel, Judge, Judge);

        Assert.Equal(PlanKind.Full, plan.Kind);
        Assert.Equal([0, 1, 2], plan.Panel);
        Assert.Null(plan.Cap);
    }

    [Fact]
    public void A_broken_cost_cap_drops_the_most_expensive_member_first()
    {
        var full = EnsemblePlanner.Project(Input, 1, Panel, [0, 1, 2], Judge).Total;
        var withoutDear = EnsemblePlanner.Project(Input, 1, Panel, [0, 2], Judge).Total;
        var plan = EnsemblePlanner.Plan(Ensemble(new EnsembleGuardrail { MaxCostUsd = withoutDear.Cost }), Input, Panel, Judge, Judge);

        Assert.True(full.Cost > withoutDear.Cost);
        Assert.Equal(PlanKind.Shrunk, plan.Kind);
        Assert.Equal([0, 2], plan.Panel);
        Assert.Equal(withoutDear, plan.Projection);
        Assert.Equal(EnsemblePlanner.MaxCostUsd, plan.Cap);
    }

    [Fact]
    public void Max_panel_calls_shrinks_the_panel_to_the_cap()
    {
        var plan = EnsemblePlanner.Plan(Ensemble(new EnsembleGuardrail { MaxPanelCalls = 2 }), Input, Panel, Judge, Judge);

        Assert.Equal(PlanKind.Shrunk, plan.Kind);
        Assert.Equal([0, 2], plan.Panel);
        Assert.Equal(EnsemblePlanner.MaxPanelCalls, plan.Cap);
    }

    [Fact]
    public void The_panel_never_shrinks_below_min_responses_so_it_degrades_instead()
    {
        var smallest = EnsemblePlanner.Project(Input, 1, Panel, [0, 2], Judge).Total;
        var guardrail = new EnsembleGuardrail { MaxTotalTokens = smallest.Tokens - 1 };
        var plan = EnsemblePlanner.Plan(Ensemble(guardrail), Input, Panel, Judge, Judge);

        Assert.Equal(PlanKind.Degrade, plan.Kind);
        Assert.Empty(plan.Panel);
        Assert.Equal(Judge.Estimate(Input), plan.Projection);
        Assert.Equal(EnsemblePlanner.MaxTotalTokens, plan.Cap);
    }

    [Fact]
    public void On_exceed_fail_refuses_naming_the_cap_and_the_projection()
    {
        var full = EnsemblePlanner.Project(Input, 1, Panel, [0, 1, 2], Judge).Total;
        var plan = EnsemblePlanner.Plan(Ensemble(new EnsembleGuardrail { MaxCostUsd = Money.FromNano(1), OnExceed = ExceedAction.Fail }), Input, Panel, Judge, Judge);

        Assert.Equal(PlanKind.Fail, plan.Kind);
        Assert.Equal(EnsemblePlanner.MaxCostUsd, plan.Cap);
        Assert.Contains("max_cost_usd of $0.000000001", plan.Message, StringComparison.Ordinal);
        Assert.Contains("$" + full.Cost, plan.Message, StringComparison.Ordinal);
        Assert.Contains("on_exceed is fail", plan.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_degrade_target_that_breaks_the_cap_too_fails()
    {
        var plan = EnsemblePlanner.Plan(Ensemble(new EnsembleGuardrail { MaxCostUsd = Money.FromNano(1) }), Input, Panel, Judge, Judge);

        Assert.Equal(PlanKind.Fail, plan.Kind);
        Assert.Contains("degrade target 'judge'", plan.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_routing_alias_is_projected_at_the_sum_of_its_targets_since_every_failed_over_attempt_may_be_billed()
    {
        var route = new CallShape([new PricedTarget(Cheap, 100), new PricedTarget(Dear, 50)]);

        Assert.Equal(Cheap.Cost(new TokenUsage(Input, 100)) + Dear.Cost(new TokenUsage(Input, 50)), route.Estimate(Input).Cost);
        Assert.Equal(Input + 100 + Input + 50, route.Estimate(Input).Tokens);
        Assert.Equal(100, route.MaxTokens);
    }

    [Theory]
    [InlineData(100, 100, null)]
    [InlineData(101, 100, EnsemblePlanner.Reservation)]
    public void The_judge_is_skipped_mid_flight_when_it_no_longer_fits_the_reservation(long actualNano, long reservedNano, string? expected)
    {
        var blocked = EnsemblePlanner.JudgeBlockedBy(new EnsembleGuardrail(), new CallEstimate(Money.FromNano(actualNano - 10), 10), new CallEstimate(Money.FromNano(10), 10), new CallEstimate(Money.FromNano(reservedNano), 1000));

        Assert.Equal(expected, blocked);
    }

    [Fact]
    public void The_judge_is_skipped_mid_flight_when_it_breaks_a_cap()
    {
        var guardrail = new EnsembleGuardrail { MaxTotalTokens = 100, MaxCostUsd = Money.FromNano(1000) };
        var reserved = new CallEstimate(Money.FromNano(10_000), 10_000);

        Assert.Equal(EnsemblePlanner.MaxTotalTokens, EnsemblePlanner.JudgeBlockedBy(guardrail, new CallEstimate(Money.Zero, 60), new CallEstimate(Money.Zero, 41), reserved));
        Assert.Equal(EnsemblePlanner.MaxCostUsd, EnsemblePlanner.JudgeBlockedBy(guardrail, new CallEstimate(Money.FromNano(600), 1), new CallEstimate(Money.FromNano(401), 1), reserved));
    }
}
