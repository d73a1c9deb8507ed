namespace Purser.Budgets;

/// <summary>
/// How a budget's counter is reset: at the top of each local hour, at local midnight, at local midnight on Monday
/// (ISO week), at the first of the month, or never (prepaid); or a rolling window over the last hour, 24 hours or 7
/// days, counted in fixed UTC buckets (see <see cref="BudgetWindows.Rolling"/>).
/// </summary>
public enum BudgetWindowKind
{
    Daily = 0,
    Monthly = 1,
    Lifetime = 2,
    Hourly = 3,
    Weekly = 4,
    Rolling1h = 5,
    Rolling24h = 6,
    Rolling7d = 7,
}
