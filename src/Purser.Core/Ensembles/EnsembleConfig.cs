namespace Purser.Ensembles;

/// <summary>
/// A model alias that calls a panel of models concurrently and has a judge synthesise one answer, under a per-request
/// guardrail. Members, the judge and the degrade target are model or routing aliases, never other ensembles, so an
/// ensemble's cost is a flat, projectable sum.
/// </summary>
public sealed record EnsembleConfig
{
    /// <summary>The prompt the judge gets when the operator gives none.</summary>
    public const string DefaultSynthesisPrompt =
        "You are given a conversation and several candidate answers to its last message from different assistants. "
        + "Write the single best answer to that last message: keep what the candidates agree on and what is correct, "
        + "fix or drop what is wrong, and do not mention the candidates.";

    public required string Alias { get; init; }

    public required IReadOnlyList<PanelMember> Panel { get; init; }

    public required string Judge { get; init; }

    public string SynthesisPrompt { get; init; } = DefaultSynthesisPrompt;

    /// <summary>The fewest panel answers the judge may work from; failed or timed-out members are tolerated down to it.</summary>
    public required int MinResponses { get; init; }

    /// <summary>How long the panel may take, all members together.</summary>
    public int TimeoutMs { get; init; } = 60_000;

    public EnsembleGuardrail Guardrail { get; init; } = new();
}
