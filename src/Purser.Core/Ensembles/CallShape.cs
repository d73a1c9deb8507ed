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

    /// <summary>
    /// The caller's request, when this call sends it as is (a route, a panel member, a degrade target): each target's
    /// worst case is then <see cref="WorstCases.Of"/> of it (every choice of <c>n</c>, images, tools…), not only text.
    /// </summary>
    public RequestShape? Request { get; private init; }

    /// <summary>This call, sending <paramref name="request"/> to whichever target serves it.</summary>
    public CallShape WithRequest(RequestShape request) => new(Targets) { Request = request };

    /// <summary>The largest max_tokens any target would be sent: the most output this call can add to a judge's input.</summary>
    public int MaxTokens { get; }

    public static CallShape Single(ModelPrice price, int maxTokens) => new([new PricedTarget(price, maxTokens)]);

    /// <summary>
    /// The most input any target can bill for <paramref name="request"/> (<see cref="WorstCases.Of"/> with no output):
    /// the input bound a call sending it is held and, cut without usage, charged at.
    /// </summary>
    public long InputTokens(RequestShape request)
    {
        ArgumentNullException.ThrowIfNull(request);
        long most = 0;
        foreach (var target in Targets)
        {
            most = Math.Max(most, WorstCases.Of(request, target.UpstreamModel, target.Anthropic, target.ContextWindow, 0).InputTokens);
        }

        return most;
    }

    /// <summary>The worst case of the call with at most <paramref name="inputTokens"/> of input.</summary>
    public CallEstimate Estimate(long inputTokens)
    {
        var cost = Money.Zero;
        long tokens = 0;
        foreach (var target in Targets)
        {
            if (Request is { } request)
            {
                var bound = WorstCases.Of(request, target.UpstreamModel, target.Anthropic, target.ContextWindow, target.MaxTokens);
                cost += bound.Cost(target.Price);
                tokens += bound.Tokens;
                continue;
            }

            cost += target.Price.Cost(new TokenUsage(inputTokens, target.MaxTokens));
            tokens += inputTokens + target.MaxTokens;
        }

        return new CallEstimate(cost, tokens);
    }
}
