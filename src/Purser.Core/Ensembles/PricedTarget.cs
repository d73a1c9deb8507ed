using Purser.Pricing;

namespace Purser.Ensembles;

/// <summary>
/// One model a call may end up on: its price, the max_tokens it would be sent, and what its worst case depends on
/// (the upstream model's image formula and context window, whether it is Anthropic's API).
/// </summary>
public readonly record struct PricedTarget(ModelPrice Price, int MaxTokens, string UpstreamModel = "", bool Anthropic = false, long? ContextWindow = null);
