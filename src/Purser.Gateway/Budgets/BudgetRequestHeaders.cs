using Purser.Budgets;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The handoff surface in: <c>x-budget-scope</c> (a task id), <c>x-budget-ceiling</c> (the task's ceiling in USD, on
/// first use), <c>x-budget-hint</c> (the caller's estimate for this call), <c>x-budget-user</c> (the caller's end
/// user, see <see cref="EndUsers"/>), <c>x-budget-tags</c> (comma-separated tags, from keys that trust them) and
/// <c>x-budget-reservation</c> (a reservation to draw on). Invalid or repeated values are a 400 that names the header;
/// nothing is charged.
/// </summary>
internal readonly record struct BudgetRequestHeaders(string? TaskId, Money? Ceiling, Money? Hint, string? ReservationId = null)
{
    public const string ReservationHeader = "x-budget-reservation";
    public const string ScopeHeader = "x-budget-scope";
    public const string CeilingHeader = "x-budget-ceiling";
    public const string HintHeader = "x-budget-hint";
    public const string UserHeader = "x-budget-user";
    public const string TagsHeader = "x-budget-tags";

    /// <summary>The end user named by x-budget-user (or, for a key that trusts it, by the body): validated.</summary>
    public string? EndUser { get; init; }

    private readonly IReadOnlyList<string>? _tags;

    /// <summary>The tags of x-budget-tags, validated, without repeats, in the order sent; empty for none (also in a default value).</summary>
    public IReadOnlyList<string> Tags { get => _tags ?? []; init => _tags = value; }

    /// <summary>No single task may be given a ceiling above this; a larger value is a typo, not a plan.</summary>
    public static readonly Money MaxCeiling = Money.FromUsd(1_000_000m);

    public static GatewayError? Parse(IHeaderDictionary headers, out BudgetRequestHeaders parsed)
    {
        parsed = default;
        var userValues = headers[UserHeader];
        var tagValues = headers[TagsHeader];
        string? scope = headers[ScopeHeader];
        string? ceilingText = headers[CeilingHeader];
        string? hintText = headers[HintHeader];
        string? reservation = headers[ReservationHeader];
        if (scope is null && ceilingText is null && hintText is null && reservation is null && userValues.Count == 0 && tagValues.Count == 0)
        {
            return null;
        }

        string? endUser = null;
        if (userValues.Count > 1)
        {
            return Invalid(UserHeader, "must be sent once");
        }

        if (userValues.Count == 1)
        {
            endUser = userValues[0];
            if (!EndUsers.IsValidId(endUser))
            {
                return Invalid(UserHeader, "must be an end-user id of " + EndUsers.IdRule);
            }
        }

        IReadOnlyList<string> tags = [];
        if (tagValues.Count > 1)
        {
            return Invalid(TagsHeader, "must be sent once, its tags separated by commas");
        }

        if (tagValues.Count == 1)
        {
            if (EndUsers.ParseTags(tagValues[0]) is not { } parsedTags)
            {
                return Invalid(TagsHeader, "must be " + EndUsers.TagsRule);
            }

            tags = parsedTags;
        }

        if (reservation is not null && !ReservationRequests.IsValidId(reservation))
        {
            return Invalid(ReservationHeader, "must be a reservation id returned by POST /v1/budget/reservations");
        }

        if (scope is not null && !ScopeRef.IsValidId(scope))
        {
            return Invalid(ScopeHeader, "must be a task id of 1–128 letters, digits, '.', '_', '-' or ':'");
        }

        Money? ceiling = null;
        if (ceilingText is not null)
        {
            if (scope is null)
            {
                return Invalid(CeilingHeader, $"needs {ScopeHeader} to name the task it limits");
            }

            if (!Money.TryParseUsd(ceilingText, out var value) || value <= Money.Zero || value > MaxCeiling)
            {
                return Invalid(CeilingHeader, $"must be a USD amount above 0 and at most {MaxCeiling}, such as 2.50");
            }

            ceiling = value;
        }

        Money? hint = null;
        if (hintText is not null)
        {
            if (!Money.TryParseUsd(hintText, out var value) || value < Money.Zero || value > MaxCeiling)
            {
                return Invalid(HintHeader, $"must be a USD amount from 0 to {MaxCeiling}, such as 0.05");
            }

            hint = value;
        }

        parsed = new BudgetRequestHeaders(scope, ceiling, hint, reservation) { EndUser = endUser, Tags = tags };
        return null;
    }

    internal static GatewayError Invalid(string header, string rule) =>
        new(GatewayErrorCode.InvalidBudgetHeader, $"The header '{header}' {rule}.", header);
}
