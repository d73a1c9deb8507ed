namespace Purser.Budgets;

/// <summary>
/// One instance of a budget window: its counter key ("2026-11-24" daily, "2026-11" monthly, "lifetime"), the instant
/// it started, and the instant the next one starts (null for lifetime, which never resets).
/// </summary>
public readonly record struct WindowInstance(string Key, DateTimeOffset Start, DateTimeOffset? ResetsAt);
