using Purser.Pricing;
using Purser.Usage;

namespace Purser.Ensembles;

/// <summary>
/// The models one call may be served by: one for a model alias, every target for a routing alias. Failover may try
/// each of them, and an attempt that reached its provider but ended without usage is charged its own worst case, so
/// the call's worst case is the sum over its targets (the gateway stops failing over when that sum is not held).
/// </summary>
public sealed class CallShape
{
    public CallShape(IReadOnlyList<PricedTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
        {
            throw new ArgumentException("A call has at least one target.", nameof(targets));
        }

        Targets = targets;
        var max = 0;
        foreach (var target in targets)
        {
            max = Math.Max(max, target.MaxTokens);
        }

        MaxTokens = max;
    }

    public IReadOnlyList<PricedTarget> Targets { get; }

    /// <summary>The largest max_tokens any target would be sent: the most output this call can add to a judge's input.</summary>
    public int MaxTokens { get; }

    public static CallShape Single(ModelPrice price, int maxTokens) => new([new PricedTarget(price, maxTokens)]);

    /// <summary>The worst case of the call with at most <paramref name="inputTokens"/> of input.</summary>
    public CallEstimate Estimate(long inputTokens)
    {
        var cost = Money.Zero;
        long tokens = 0;
        foreach (var target in Targets)
        {
            cost += target.Price.Cost(new TokenUsage(inputTokens, target.MaxTokens));
            tokens += inputTokens + target.MaxTokens;
        }

        return new CallEstimate(cost, tokens);
    }
}
