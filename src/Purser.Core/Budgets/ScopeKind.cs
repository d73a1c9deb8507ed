namespace Purser.Budgets;

/// <summary>The nested levels a request is charged to: organisation → team → key → task.</summary>
public enum ScopeKind
{
    Organization = 0,
    Team = 1,
    Key = 2,
    Task = 3,
}
