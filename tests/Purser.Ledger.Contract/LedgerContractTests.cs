using Purser.Budgets;

namespace Purser.Ledger.Contract;

/// <summary>The rules of <see cref="IBudgetLedger"/>, run against every implementation.</summary>
public abstract class LedgerContractTests
{
    /// <summary>A fresh, empty ledger.</summary>
    protected abstract Task<IBudgetLedger> CreateLedgerAsync();
}
