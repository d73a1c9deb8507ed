using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>One budget on a request's path, as the ledger must check and charge it.</summary>
public sealed record HoldLine(CounterKey Counter, Money? CapUsd, long? CapTokens, AccountingMode Mode, Enforcement Enforcement);
