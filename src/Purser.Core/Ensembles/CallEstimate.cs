using Purser.Pricing;

namespace Purser.Ensembles;

/// <summary>The worst case of one or more calls: cost, and input plus output tokens.</summary>
public readonly record struct CallEstimate(Money Cost, long Tokens)
{
    public static CallEstimate operator +(CallEstimate a, CallEstimate b) => new(a.Cost + b.Cost, a.Tokens + b.Tokens);

    public CallEstimate Add(CallEstimate other) => this + other;
}
