using System.Collections.Concurrent;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// Lease settlements the inner ledger did not confirm (an outage, a lost answer), retried on every flush pass until one
/// lands. Settling is idempotent on the inner ledger, so a retry never charges twice; a lease reserve whose answer was
/// lost is queued as a settlement at 0, which releases it if it was taken.
/// </summary>
internal sealed class PendingLeaseSettlements
{
    private readonly ConcurrentDictionary<string, (long Spent, long SpentTokens)> _pending = new(StringComparer.Ordinal);

    public void Add(string leaseId, long spent, long spentTokens) => _pending[leaseId] = (spent, spentTokens);

    /// <summary>Retries each queued settlement; stops at the first that meets the outage again. Returns the calls made.</summary>
    public async Task<int> RetryAsync(IBudgetLedger inner, CancellationToken ct)
    {
        var calls = 0;
        foreach (var (id, settle) in _pending)
        {
            try
            {
                calls++;
                await inner.SettleAsync(id, new Money(settle.Spent), settle.SpentTokens, ct).ConfigureAwait(false);
                _pending.TryRemove(id, out _);
            }
            catch (LedgerUnavailableException)
            {
                break;
            }
        }

        return calls;
    }
}
