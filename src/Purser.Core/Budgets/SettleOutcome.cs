namespace Purser.Budgets;

/// <summary>What a settlement did.</summary>
public enum SettleOutcome
{
    /// <summary>The hold was released and the actual cost charged.</summary>
    Settled = 0,

    /// <summary>The hold was settled before: nothing changed (settlement is idempotent).</summary>
    AlreadySettled = 1,

    /// <summary>The hold had expired and been charged in full; the charge was corrected to the actual cost.</summary>
    CorrectedAfterExpiry = 2,

    /// <summary>No such hold.</summary>
    UnknownHold = 3,
}
