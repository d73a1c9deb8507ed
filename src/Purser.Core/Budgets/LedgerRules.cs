using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// The admission rule and argument checks of <see cref="IBudgetLedger"/>, shared by every implementation so that a
/// store only decides where the counters live, never what a cap means.
/// </summary>
public static class LedgerRules
{
    /// <summary>
    /// Whether <paramref name="line"/>, whose counter is <paramref name="state"/> before the hold, admits a hold of
    /// <paramref name="amount"/> and <paramref name="tokens"/>: <see cref="DenialReason.None"/> when it does.
    /// </summary>
    public static DenialReason Admit(HoldLine line, CounterState state, Money amount, long tokens)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Enforcement == Enforcement.Soft)
        {
            return DenialReason.None;
        }

        if (line.Mode == AccountingMode.PostHoc)
        {
            // Post-hoc lines cannot know the cost in advance: they admit until the cap is reached, then refuse.
            if (line.CapUsd is { } postCap && state.Spent >= postCap)
            {
                return DenialReason.Usd;
            }

            return line.CapTokens is { } postTokens && state.SpentTokens >= postTokens ? DenialReason.Tokens : DenialReason.None;
        }

        // Equality fits: a cap is the most that may be committed, not a bound to stay strictly under.
        if (line.CapUsd is { } cap && state.Spent + state.Held + amount > cap)
        {
            return DenialReason.Usd;
        }

        return line.CapTokens is { } capTokens && checked(state.SpentTokens + state.HeldTokens + tokens) > capTokens
            ? DenialReason.Tokens
            : DenialReason.None;
    }

    /// <summary>Throws on a malformed request: these are caller bugs, not outcomes.</summary>
    public static void ValidateRequest(HoldRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.HoldId, nameof(request));
        ArgumentNullException.ThrowIfNull(request.Lines, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegative(request.Amount.NanoUsd, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegative(request.Tokens, nameof(request));

        var lines = request.Lines;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i] ?? throw new ArgumentException("A hold line must not be null.", nameof(request));
            ArgumentException.ThrowIfNullOrEmpty(line.Counter.BudgetId, nameof(request));
            ArgumentException.ThrowIfNullOrEmpty(line.Counter.WindowKey, nameof(request));

            // A counter listed twice would be checked against its state without the other line's hold.
            for (var j = 0; j < i; j++)
            {
                if (lines[j].Counter == line.Counter)
                {
                    throw new ArgumentException($"The counter {line.Counter} appears twice in hold '{request.HoldId}'.", nameof(request));
                }
            }
        }
    }

    /// <summary>Throws on a malformed listing.</summary>
    public static void ValidateList(string budgetIdPrefix, string windowKey, int limit)
    {
        ArgumentException.ThrowIfNullOrEmpty(budgetIdPrefix);
        ArgumentException.ThrowIfNullOrEmpty(windowKey);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
    }

    /// <summary>The first string after every string that starts with <paramref name="prefix"/> (byte-wise): the prefix with its last character incremented.</summary>
    public static string PrefixEnd(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        return string.Concat(prefix.AsSpan(0, prefix.Length - 1), [(char)(prefix[^1] + 1)]);
    }

    /// <summary>The listing order of <see cref="IBudgetLedger.ListAsync"/>: most committed first, then by budget id.</summary>
    public static int ListOrder(CounterEntry a, CounterEntry b)
    {
        var byCommitted = (b.State.Spent + b.State.Held).CompareTo(a.State.Spent + a.State.Held);
        return byCommitted != 0 ? byCommitted : string.CompareOrdinal(a.Counter.BudgetId, b.Counter.BudgetId);
    }

    /// <summary>Throws on a malformed settlement.</summary>
    public static void ValidateSettle(string holdId, Money actual, long actualTokens)
    {
        ArgumentException.ThrowIfNullOrEmpty(holdId);
        ArgumentOutOfRangeException.ThrowIfNegative(actual.NanoUsd, nameof(actual));
        ArgumentOutOfRangeException.ThrowIfNegative(actualTokens);
    }

    /// <summary>
    /// The rule of settlement, the same in every store: a held hold spends the actual cost and releases its worst case;
    /// an expired one (charged its worst case in full by the sweep) has that charge replaced by the actual cost, which
    /// may lower spend; a settled or corrected one is not settled twice. Where the counters live is the store's part.
    /// </summary>
    public static HoldSettlement Settle(HoldPhase phase, long amount, long tokens, long actual, long actualTokens) => phase switch
    {
        HoldPhase.Held => new(SettleOutcome.Settled, HoldPhase.Settled, actual, actualTokens, amount, tokens),
        HoldPhase.Expired => new(SettleOutcome.CorrectedAfterExpiry, HoldPhase.Corrected, checked(actual - amount), checked(actualTokens - tokens), 0, 0),
        _ => new(SettleOutcome.AlreadySettled, phase, 0, 0, 0, 0),
    };
}
