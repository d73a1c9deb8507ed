namespace Purser.Budgets;

/// <summary>One counter and its state, as <see cref="IBudgetLedger.ListAsync"/> lists them.</summary>
public readonly record struct CounterEntry(CounterKey Counter, CounterState State);
