using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Pipeline;

/// <summary>
/// What a call is charged, for every way it can end — the one table of the pipeline's money rules:
/// <list type="bullet">
/// <item>No request byte reached a provider: nothing (<see cref="UsageSource.None"/>).</item>
/// <item>The provider reported usage: that usage at the model's price (<see cref="Reported"/>), unless it claims more
/// than the request could have produced — then it is clamped to the hold (the request's proven worst case).</item>
/// <item>A stream ended without usage: the output counted while relaying plus the input bound
/// (<see cref="UsageSource.Counted"/>), at most the hold; for a model whose output is partly hidden (reasoning), the
/// hold in full.</item>
/// <item>Bytes went upstream and nothing can be known (a timeout, an unreadable or oversized answer, a broken
/// connection): the hold in full (<see cref="UsageSource.Held"/>).</item>
/// </list>
/// </summary>
internal static class Metering
{
    /// <summary>Above this many tokens in one class, a usage report is a lie whatever the request (and its price overflows).</summary>
    public const long MaxPlausibleTokens = 1_000_000_000_000;

    /// <summary>A charge: what the usage record says, and whether the provider's report was refused as impossible.</summary>
    public readonly record struct Charge(TokenUsage Usage, UsageSource Source, Money Cost, bool Implausible);

    public static readonly Charge Nothing = new(default, UsageSource.None, Money.Zero, false);

    /// <summary>The provider's reported usage at <paramref name="price"/>, clamped to what the request could produce.</summary>
    public static Charge Reported(CallRecord call, TokenUsage usage, ModelPrice price)
    {
        if (!Plausible(usage))
        {
            return Held(call) with { Implausible = true };
        }

        var cost = price.Cost(usage);
        if (call.Admission is { } admission && cost > admission.Amount)
        {
            return Held(call) with { Implausible = true };
        }

        return new Charge(usage, UsageSource.Reported, cost, false);
    }

    /// <summary>
    /// The charge when usage was not reported: nothing if no byte went upstream; else the counted output (when there
    /// is a count) plus the input bound; else the hold in full.
    /// </summary>
    public static Charge Unknown(CallRecord call, long? countedOutput = null, long? reportedInput = null)
    {
        if (!call.UpstreamSent)
        {
            return Nothing;
        }

        if (countedOutput is { } counted && !call.HiddenOutput && counted >= 0 && counted < MaxPlausibleTokens)
        {
            var input = reportedInput is { } reported and >= 0 and < MaxPlausibleTokens ? reported : call.InputTokenBound;
            var usage = new TokenUsage(input, counted);
            var cost = call.Price.Cost(usage);
            if (call.Admission is { } admission && cost > admission.Amount)
            {
                // The count is an estimate from bytes; it never charges more than the request held.
                cost = admission.Amount;
            }

            return new Charge(usage, UsageSource.Counted, cost, false);
        }

        return Held(call);
    }

    /// <summary>The hold in full: the request's worst case, as admitted.</summary>
    public static Charge Held(CallRecord call)
    {
        if (call.Admission is not { } admission)
        {
            // Nothing was admitted, so nothing can have been sent; kept total for safety.
            return Nothing;
        }

        var output = Math.Max(0, admission.Tokens - call.InputTokenBound);
        return new Charge(new TokenUsage(call.InputTokenBound, output), UsageSource.Held, admission.Amount, false);
    }

    private static bool Plausible(TokenUsage usage) =>
        usage.InputTokens is >= 0 and < MaxPlausibleTokens
        && usage.OutputTokens is >= 0 and < MaxPlausibleTokens
        && usage.CachedInputTokens is >= 0 and < MaxPlausibleTokens
        && usage.CacheWriteTokens is >= 0 and < MaxPlausibleTokens;
}
