namespace Purser.Budgets;

/// <summary>
/// <see cref="Reserve"/>: hold the worst case before the call, settle to the actual after — the cap is never exceeded.
/// <see cref="PostHoc"/>: admit while spent is under the cap and record the cost after — lower latency, bounded overshoot.
/// </summary>
public enum AccountingMode
{
    Reserve = 0,
    PostHoc = 1,
}
