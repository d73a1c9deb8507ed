namespace Purser.Budgets;

/// <summary>
/// What a budget is charged by: the nested levels of a request's path (organisation → team → key → task), the whole
/// gateway, a caller-sent tag, or each end user (a template: one counter per end user, see <see cref="ScopeRef.EndUserTemplate"/>).
/// </summary>
public enum ScopeKind
{
    Organization = 0,
    Team = 1,
    Key = 2,
    Task = 3,
    Global = 4,
    Tag = 5,
    EndUser = 6,
}
