namespace Purser.Budgets;

/// <summary>
/// What settling one hold does to every counter of its path (<see cref="LedgerRules.Settle"/>): add
/// <see cref="Spent"/> and <see cref="SpentTokens"/> to spend, take <see cref="Release"/> and
/// <see cref="ReleaseTokens"/> off what is held, and move the hold to <see cref="Next"/>. Nothing changes when
/// <see cref="Changes"/> is false.
/// </summary>
public readonly record struct HoldSettlement(SettleOutcome Outcome, HoldPhase Next, long Spent, long SpentTokens, long Release, long ReleaseTokens)
{
    /// <summary>Whether the settlement changes any counter or the hold (false: already settled).</summary>
    public bool Changes => Outcome is SettleOutcome.Settled or SettleOutcome.CorrectedAfterExpiry;
}
