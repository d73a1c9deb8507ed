using System.Globalization;
using System.Text;
using Purser.Pricing;

namespace Purser.Ensembles;

/// <summary>
/// The ensemble guardrail's arithmetic, free of I/O: project the worst case of a panel plus its judge, shrink the panel
/// to fit the caps, choose degrade or fail, and decide mid-flight whether the judge still fits.
/// </summary>
/// <remarks>
/// Every input is bounded in tokens by its bytes (a token covers at least one UTF-8 byte), so a panel call's input
/// bound is the caller's. The judge's input holds the panel's answers, whose bytes are not known before they exist:
/// each answer is projected at <see cref="AnswerBytesPerToken"/> bytes per output token, a typical rate rather than a
/// bound. That is safe because the judge is only called after the mid-flight check has recomputed its input from the
/// real answers' bytes and found it within both the caps and the reservation (<see cref="JudgeBlockedBy"/>).
/// </remarks>
public static class EnsemblePlanner
{
    /// <summary>Projected bytes of a panel answer per output token (English text averages about four).</summary>
    public const int AnswerBytesPerToken = 4;

    /// <summary>The judge request's own JSON and headings, and each candidate's heading and separator.</summary>
    public const int JudgeFramingBytes = 256;

    public const int AnswerFramingBytes = 32;

    public const string MaxPanelCalls = "max_panel_calls";
    public const string MaxTotalTokens = "max_total_tokens";
    public const string MaxCostUsd = "max_cost_usd";
    public const string Reservation = "reservation";

    /// <summary>
    /// The judge's projected input: the caller's input bound (it carries the conversation), the synthesis prompt, and
    /// every chosen member's answer at its max_tokens.
    /// </summary>
    public static long JudgeInputProjection(long callerInputBound, int synthesisPromptBytes, IReadOnlyList<CallShape> panel, IReadOnlyList<int> chosen)
    {
        ArgumentNullException.ThrowIfNull(panel);
        ArgumentNullException.ThrowIfNull(chosen);
        var input = callerInputBound + synthesisPromptBytes + JudgeFramingBytes;
        foreach (var index in chosen)
        {
            input += ((long)panel[index].MaxTokens * AnswerBytesPerToken) + AnswerFramingBytes;
        }

        return input;
    }

    /// <summary>The whole ensemble's worst case with the chosen members, and the judge's part of it.</summary>
    public static (CallEstimate Total, CallEstimate Judge) Project(long callerInputBound, int synthesisPromptBytes, IReadOnlyList<CallShape> panel, IReadOnlyList<int> chosen, CallShape judge)
    {
        ArgumentNullException.ThrowIfNull(judge);
        var total = default(CallEstimate);
        foreach (var index in chosen)
        {
            total += panel[index].Estimate(callerInputBound);
        }

        var judgeEstimate = judge.Estimate(JudgeInputProjection(callerInputBound, synthesisPromptBytes, panel, chosen));
        return (total + judgeEstimate, judgeEstimate);
    }

    /// <summary>
    /// The pre-flight decision. Caps are checked on the full panel; if one is broken, the dearest members are dropped
    /// one at a time (never below <see cref="EnsembleConfig.MinResponses"/>) until the rest fits; failing that, the
    /// ensemble degrades to one call of <paramref name="degradeTarget"/> if it fits the token and cost caps, or fails.
    /// </summary>
    public static EnsemblePlan Plan(EnsembleConfig ensemble, long callerInputBound, IReadOnlyList<CallShape> panel, CallShape judge, CallShape? degradeTarget)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        ArgumentNullException.ThrowIfNull(panel);
        var guardrail = ensemble.Guardrail;
        var promptBytes = Encoding.UTF8.GetByteCount(ensemble.SynthesisPrompt);
        var chosen = new List<int>(panel.Count);
        for (var i = 0; i < panel.Count; i++)
        {
            chosen.Add(i);
        }

        var (full, fullJudge) = Project(callerInputBound, promptBytes, panel, chosen, judge);
        var cap = BrokenCap(guardrail, full, chosen.Count);
        if (cap is null)
        {
            return new EnsemblePlan(PlanKind.Full, chosen, full, fullJudge, null, null);
        }

        // Drop the dearest member first: it buys the most room per answer lost. Ties drop the later member, so the
        // operator's order still says who is kept.
        var byCost = new List<int>(chosen);
        byCost.Sort((a, b) =>
        {
            var order = panel[b].Estimate(callerInputBound).Cost.CompareTo(panel[a].Estimate(callerInputBound).Cost);
            return order != 0 ? order : b.CompareTo(a);
        });
        var floor = Math.Max(1, ensemble.MinResponses);
        var smallest = full;
        foreach (var dropped in byCost)
        {
            if (chosen.Count <= floor)
            {
                break;
            }

            chosen.Remove(dropped);
            var (total, judgePart) = Project(callerInputBound, promptBytes, panel, chosen, judge);
            smallest = total;
            if (BrokenCap(guardrail, total, chosen.Count) is null)
            {
                return new EnsemblePlan(PlanKind.Shrunk, chosen, total, judgePart, cap, null);
            }
        }

        var projectionText = Describe(full, panel.Count);
        if (guardrail.OnExceed == ExceedAction.Degrade && degradeTarget is not null)
        {
            var single = degradeTarget.Estimate(callerInputBound);
            if (BrokenCap(guardrail, single, 0) is null)
            {
                return new EnsemblePlan(PlanKind.Degrade, [], single, default, cap, null);
            }

            return new EnsemblePlan(PlanKind.Fail, [], full, fullJudge, cap, string.Create(CultureInfo.InvariantCulture,
                $"The ensemble '{ensemble.Alias}' projects {projectionText}, over its {cap} of {CapValue(guardrail, cap)}; its smallest allowed panel ({floor.ToString(CultureInfo.InvariantCulture)} of {panel.Count.ToString(CultureInfo.InvariantCulture)}) projects {Describe(smallest, floor)}, and its degrade target '{guardrail.DegradeTo}' projects {Describe(single, 0)}, which does not fit either."));
        }

        return new EnsemblePlan(PlanKind.Fail, [], full, fullJudge, cap, string.Create(CultureInfo.InvariantCulture,
            $"The ensemble '{ensemble.Alias}' projects {projectionText}, over its {cap} of {CapValue(guardrail, cap)}; its smallest allowed panel ({floor.ToString(CultureInfo.InvariantCulture)} of {panel.Count.ToString(CultureInfo.InvariantCulture)}) projects {Describe(smallest, floor)}, and on_exceed is fail."));
    }

    /// <summary>
    /// Mid-flight, once the panel has answered: whether the judge, projected from the real answers, still fits the caps
    /// and what is left of the reservation. Returns the cap it would break, or null when the judge may be called.
    /// </summary>
    public static string? JudgeBlockedBy(EnsembleGuardrail guardrail, CallEstimate panelActual, CallEstimate judge, CallEstimate reserved)
    {
        ArgumentNullException.ThrowIfNull(guardrail);
        var total = panelActual + judge;
        if (guardrail.MaxTotalTokens is { } tokens && total.Tokens > tokens)
        {
            return MaxTotalTokens;
        }

        if (guardrail.MaxCostUsd is { } cost && total.Cost > cost)
        {
            return MaxCostUsd;
        }

        // The reservation is what the caller's budgets hold for this request: spending past it could pass a budget cap.
        return total.Cost > reserved.Cost || total.Tokens > reserved.Tokens ? Reservation : null;
    }

    /// <summary>The first cap the projection breaks, in the order an operator reads them, or null.</summary>
    public static string? BrokenCap(EnsembleGuardrail guardrail, CallEstimate projection, int panelCalls)
    {
        ArgumentNullException.ThrowIfNull(guardrail);
        if (guardrail.MaxPanelCalls is { } calls && panelCalls > calls)
        {
            return MaxPanelCalls;
        }

        if (guardrail.MaxTotalTokens is { } tokens && projection.Tokens > tokens)
        {
            return MaxTotalTokens;
        }

        return guardrail.MaxCostUsd is { } cost && projection.Cost > cost ? MaxCostUsd : null;
    }

    private static string Describe(CallEstimate estimate, int panelCalls) => string.Create(CultureInfo.InvariantCulture,
        $"${estimate.Cost} and {estimate.Tokens} tokens with {panelCalls} panel calls");

    private static string CapValue(EnsembleGuardrail guardrail, string cap) => cap switch
    {
        MaxPanelCalls => guardrail.MaxPanelCalls?.ToString(CultureInfo.InvariantCulture) ?? "",
        MaxTotalTokens => guardrail.MaxTotalTokens?.ToString(CultureInfo.InvariantCulture) + " tokens",
        _ => "$" + guardrail.MaxCostUsd,
    };
}
