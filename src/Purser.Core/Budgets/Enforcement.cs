namespace Purser.Budgets;

/// <summary>A hard budget refuses what does not fit; a soft one only raises alerts.</summary>
public enum Enforcement
{
    Hard = 0,
    Soft = 1,
}
