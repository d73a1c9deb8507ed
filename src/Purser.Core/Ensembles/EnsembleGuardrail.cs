using Purser.Pricing;

namespace Purser.Ensembles;

/// <summary>The per-request caps of an ensemble, checked against its projected worst case before any call is made.</summary>
public sealed record EnsembleGuardrail
{
    /// <summary>Degrade to the judge unless told otherwise: the one model the operator already trusts to write the answer.</summary>
    public const string DegradeToJudge = "judge";

    public const string DegradeToFirstPanel = "first_panel";

    /// <summary>Input plus output tokens of every call of the ensemble, worst case.</summary>
    public long? MaxTotalTokens { get; init; }

    public int? MaxPanelCalls { get; init; }

    public Money? MaxCostUsd { get; init; }

    public ExceedAction OnExceed { get; init; } = ExceedAction.Degrade;

    /// <summary><see cref="DegradeToJudge"/>, <see cref="DegradeToFirstPanel"/>, or any model or routing alias.</summary>
    public string DegradeTo { get; init; } = DegradeToJudge;

    public bool HasCaps => MaxTotalTokens is not null || MaxPanelCalls is not null || MaxCostUsd is not null;
}
