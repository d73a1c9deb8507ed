namespace Purser.SimulatedProvider.Common;

internal enum FinishKind
{
    /// <summary>The model finished on its own (OpenAI <c>stop</c>, Anthropic <c>end_turn</c>).</summary>
    Natural,

    /// <summary>Cut by max_tokens (OpenAI <c>length</c>, Anthropic <c>max_tokens</c>).</summary>
    Length,

    /// <summary>A stop string matched (OpenAI <c>stop</c>, Anthropic <c>stop_sequence</c>).</summary>
    StopSequence,
}
