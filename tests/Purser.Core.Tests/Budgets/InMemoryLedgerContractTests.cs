using Purser.Budgets;
using Purser.Ledger.Contract;

namespace Purser.Core.Tests.Budgets;

public sealed class InMemoryLedgerContractTests : LedgerContractTests
{
    protected override Task<IBudgetLedger> CreateLedgerAsync() => Task.FromResult<IBudgetLedger>(new InMemoryBudgetLedger());
}
