using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>
/// Counts the calls one instance makes on the PostgreSQL ledger, by the run's phase at the time of the call: each is
/// one database transaction (one statement, or one explicit transaction). Passes everything through unchanged.
/// </summary>
internal sealed class CountingLedger : IBudgetLedger
{
    private readonly IBudgetLedger _inner;
    private readonly ShadowAccount _shadow;
    private readonly long[] _calls;

    /// <param name="calls">Shared by every instance of the run, one slot per <see cref="ScalePhase"/>.</param>
    public CountingLedger(IBudgetLedger inner, ShadowAccount shadow, long[] calls)
    {
        _inner = inner;
        _shadow = shadow;
        _calls = calls;
    }

    public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ReserveAsync(request, cancellationToken);
    }

    public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        Count();
        return _inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
    }

    public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ExpireAsync(now, cancellationToken);
    }

    public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ReadAsync(counters, cancellationToken);
    }

    public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);
    }

    private void Count() => Interlocked.Increment(ref _calls[(int)_shadow.Phase]);
}
