using Purser.Budgets;
using Purser.Gateway.Errors;
using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>Builds the 402 errors, each with the specific code SPEC.md names and a remedy a person can act on.</summary>
internal static class BudgetRefusals
{
    public static GatewayError Denied(PathLine line, CounterState state, DenialReason reason, Money requested, long requestedTokens, DateTimeOffset now)
    {
        var budget = line.Budget;
        var window = BudgetAdmission.WindowName(budget.Window);
        var code = budget.Scope.Kind == ScopeKind.Task ? "task_ceiling_exceeded"
            : line.EndUser is not null ? "user_cap_exceeded"
            : reason == DenialReason.Tokens ? "token_cap_exceeded"
            : window + "_cap_exceeded";
        var resets = line.Window.ResetsAt;
        var remedy = budget.Scope.Kind == ScopeKind.Task
            ? "The task's ceiling is spent: finish the task, or start a new task scope with a new ceiling."
            : resets is { } at
                ? $"Wait until the {window} window resets at {at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}, lower max_tokens, or ask an operator to raise the cap."
                : "Ask an operator to raise the cap of this lifetime budget, or lower max_tokens.";
        var what = reason == DenialReason.Tokens
            ? $"needs {requestedTokens} tokens but {budget.CapTokens - state.SpentTokens - state.HeldTokens} of {budget.CapTokens} remain"
            : $"needs up to ${requested} but ${Remaining(budget, state)} of ${budget.CapUsd} remain";
        var whose = line.EndUser is { } user ? $" for end user '{user}'" : "";
        return new GatewayError(GatewayErrorCode.BudgetExceeded, $"Budget '{budget.Id}' ({line.ScopeText}, {window}){whose} refused this request: it {what}.")
        {
            Budget = new BudgetDenial(code, line.ScopeText, budget.Id, window, budget.CapUsd, state.Spent, state.Held, requested, budget.CapTokens, state.SpentTokens, state.HeldTokens, resets, remedy),
            RetryAfterSeconds = RetryAfter(resets, now),
        };
    }

    public static GatewayError InsufficientForHint(in BudgetStanding standing, Money hint, DateTimeOffset now) =>
        new(GatewayErrorCode.BudgetExceeded, $"Only ${standing.Remaining} remains in {standing.Scope} ({standing.Window}), less than the x-budget-hint of ${hint}.")
        {
            Budget = new BudgetDenial("insufficient_budget_for_hint", standing.Scope, "", standing.Window, standing.Limit, standing.Limit - standing.Remaining, Money.Zero, hint, null, 0, 0, standing.ResetsAt, "Split the sub-task into cheaper steps, or wait for the window to reset."),
            RetryAfterSeconds = RetryAfter(standing.ResetsAt, now),
        };

    private static Money Remaining(BudgetDefinition budget, CounterState state)
    {
        var remaining = (budget.CapUsd ?? Money.Zero) - state.Spent - state.Held;
        return remaining < Money.Zero ? Money.Zero : remaining;
    }

    private static int? RetryAfter(DateTimeOffset? resets, DateTimeOffset now) =>
        resets is { } at ? (int)Math.Max(1, Math.Ceiling((at - now).TotalSeconds)) : null;
}
