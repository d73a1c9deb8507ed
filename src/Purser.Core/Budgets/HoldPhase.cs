namespace Purser.Budgets;

/// <summary>
/// Where a hold is in its life. The numbers are what the SQL stores keep in their <c>state</c> columns.
/// </summary>
public enum HoldPhase
{
    /// <summary>Its worst case is held on every counter of its path.</summary>
    Held = 0,

    /// <summary>Settled: the hold released, the actual cost spent.</summary>
    Settled = 1,

    /// <summary>Never settled in time: charged its worst case in full by the expiry sweep.</summary>
    Expired = 2,

    /// <summary>Settled after it expired: the worst case charged at expiry replaced by the actual cost.</summary>
    Corrected = 3,
}
