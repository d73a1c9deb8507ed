namespace Purser.Events;

/// <summary>
/// Something operators should see after the fact: a refused request, a crossed alert threshold, a degraded request,
/// an expired hold. Never carries prompts, completions or key secrets.
/// </summary>
/// <param name="Type">Dotted free text: "budget.blocked", "budget.threshold", "budget.degraded", "budget.hold_expired", …</param>
/// <param name="Scope">The scope in its string form ("key:agent-a"), when the event concerns one.</param>
/// <param name="WindowKey">The budget window the event belongs to, e.g. "2025-06-01".</param>
/// <param name="DataJson">Optional machine-readable details as a JSON document.</param>
public sealed record GatewayEvent(
    string Id,
    DateTimeOffset Timestamp,
    string Type,
    string? Scope,
    string? BudgetId,
    string? WindowKey,
    string? RequestId,
    string Message,
    string? DataJson);
