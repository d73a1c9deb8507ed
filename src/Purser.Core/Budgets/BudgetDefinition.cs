using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>A cap on one scope over one window. At least one of <see cref="CapUsd"/> and <see cref="CapTokens"/> is set.</summary>
public sealed record BudgetDefinition
{
    /// <summary>Unique id; part of every counter's identity.</summary>
    public required string Id { get; init; }

    public required ScopeRef Scope { get; init; }

    /// <summary>
    /// For the end-user template (<c>user:*</c>): the key or team whose end users it counts (null: every end user of
    /// every key). Each end user named by a request under it gets a counter of their own.
    /// </summary>
    public ScopeRef? Under { get; init; }

    /// <summary>When set, the budget applies only to requests for this model alias (the alias the caller asked for).</summary>
    public string? Model { get; init; }

    public BudgetWindowKind Window { get; init; } = BudgetWindowKind.Daily;

    /// <summary>IANA time zone whose calendar defines the window's boundaries.</summary>
    public string TimeZone { get; init; } = "UTC";

    public Money? CapUsd { get; init; }

    public long? CapTokens { get; init; }

    public Enforcement Enforcement { get; init; } = Enforcement.Hard;

    public AccountingMode Mode { get; init; } = AccountingMode.Reserve;

    /// <summary>Percentages of the cap at which an alert event is recorded, once per window each.</summary>
    public IReadOnlyList<int> AlertThresholds { get; init; } = [50, 80, 100];

    public DegradeOptions? Degrade { get; init; }
}
