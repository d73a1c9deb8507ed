using Purser.Pricing;

namespace Purser.Ensembles;

/// <summary>One model a call may end up on: its price and the max_tokens it would be sent.</summary>
public readonly record struct PricedTarget(ModelPrice Price, int MaxTokens);
