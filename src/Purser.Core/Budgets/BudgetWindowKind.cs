namespace Purser.Budgets;

/// <summary>How a budget's counter is reset: at local midnight, at the first of the month, or never (prepaid).</summary>
public enum BudgetWindowKind
{
    Daily = 0,
    Monthly = 1,
    Lifetime = 2,
}
