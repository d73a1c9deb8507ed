namespace Purser.Budgets;

/// <summary>Why a line refused a hold.</summary>
public enum DenialReason
{
    None = 0,
    Usd = 1,
    Tokens = 2,
}

/// <summary>
/// The result of a reservation, as a value: granted (with every line's state after the hold), or denied by the first
/// line that could not take it (with that line's state, unchanged).
/// </summary>
public readonly record struct HoldOutcome(bool Granted, int DeniedLine, DenialReason Reason, IReadOnlyList<CounterState> States)
{
    public static HoldOutcome Grant(IReadOnlyList<CounterState> states) => new(true, -1, DenialReason.None, states);

    public static HoldOutcome Deny(int line, DenialReason reason, IReadOnlyList<CounterState> states) => new(false, line, reason, states);
}
