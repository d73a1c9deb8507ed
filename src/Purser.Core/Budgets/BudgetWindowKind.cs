namespace Purser.Budgets;

/// <summary>
/// How a budget's counter is reset: at the top of each local hour, at local midnight, at local midnight on Monday
/// (ISO week), at the first of the month, or never (prepaid).
/// </summary>
public enum BudgetWindowKind
{
    Daily = 0,
    Monthly = 1,
    Lifetime = 2,
    Hourly = 3,
    Weekly = 4,
}
