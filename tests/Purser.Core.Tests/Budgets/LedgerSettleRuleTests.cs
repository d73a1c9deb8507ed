using CsCheck;
using Purser.Budgets;

namespace Purser.Core.Tests.Budgets;

/// <summary>
/// The one rule of settlement every ledger applies (<see cref="LedgerRules.Settle"/>): whatever the amounts, a held hold
/// ends spending exactly the actual cost and holding nothing; an expired hold (charged its worst case) ends spending
/// exactly the actual cost; a finished one changes nothing.
/// </summary>
public sealed class LedgerSettleRuleTests
{
    private static readonly Gen<long> Amount = Gen.Long[0, 1_000_000_000_000];

    [Fact]
    public void Settling_ends_at_the_actual_cost_from_every_phase()
    {
        Gen.Select(Amount, Amount, Amount, Amount).Sample((amount, tokens, actual, actualTokens) =>
        {
            // Held: the worst case is held, nothing spent yet.
            var held = LedgerRules.Settle(HoldPhase.Held, amount, tokens, actual, actualTokens);
            Assert.Equal(SettleOutcome.Settled, held.Outcome);
            Assert.Equal(HoldPhase.Settled, held.Next);
            Assert.True(held.Changes);
            Assert.Equal((actual, actualTokens), (held.Spent, held.SpentTokens));
            Assert.Equal((amount, tokens), (held.Release, held.ReleaseTokens));

            // Expired: the worst case was spent in full; the correction brings spend to the actual cost.
            var expired = LedgerRules.Settle(HoldPhase.Expired, amount, tokens, actual, actualTokens);
            Assert.Equal(SettleOutcome.CorrectedAfterExpiry, expired.Outcome);
            Assert.Equal(HoldPhase.Corrected, expired.Next);
            Assert.Equal((actual, actualTokens), (amount + expired.Spent, tokens + expired.SpentTokens));
            Assert.Equal((0L, 0L), (expired.Release, expired.ReleaseTokens));

            // Settled or corrected: never settled twice.
            foreach (var done in new[] { HoldPhase.Settled, HoldPhase.Corrected })
            {
                var again = LedgerRules.Settle(done, amount, tokens, actual, actualTokens);
                Assert.Equal(SettleOutcome.AlreadySettled, again.Outcome);
                Assert.False(again.Changes);
                Assert.Equal(done, again.Next);
                Assert.Equal((0L, 0L, 0L, 0L), (again.Spent, again.SpentTokens, again.Release, again.ReleaseTokens));
            }
        }, iter: 2000);
    }
}
