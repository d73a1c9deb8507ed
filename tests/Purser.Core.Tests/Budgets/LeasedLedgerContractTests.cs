using Microsoft.Extensions.Time.Testing;
using Purser.Budgets;
using Purser.Ledger.Contract;
using Purser.Pricing;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// The ledger contract through <see cref="LeasedBudgetLedger"/> with every counter treated as near its cap (no lease
/// is ever taken): what passes through behaves exactly as the inner ledger. With leases active the contract's exact
/// "held after a reserve" reads differ by design (an unused lease reads as held); <see cref="LeasedBudgetLedgerTests"/>
/// checks the decorator's own invariants instead.
/// </summary>
public sealed class LeasedLedgerContractTests : LedgerContractTests
{
    protected override Task<IBudgetLedger> CreateLedgerAsync() =>
        Task.FromResult<IBudgetLedger>(new LeasedBudgetLedger(
            new InMemoryBudgetLedger(),
            new LeaseOptions { MaxLease = Money.Zero, PassThroughWorstCases = 1_000_000 },
            new FakeTimeProvider(Now)));
}
