using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Bench.Scale;

/// <summary>
/// Counts the calls one instance makes on the PostgreSQL ledger, by the run's phase at the time of the call and by what
/// made it (<see cref="CallKind"/>): each is one database transaction (one statement, or one explicit transaction).
/// Passes everything through unchanged.
/// </summary>
internal sealed class CountingLedger : IBudgetLedger
{
    private readonly IBudgetLedger _inner;
    private readonly ShadowAccount _shadow;
    private readonly long[] _calls;

    /// <param name="calls">Shared by every instance of the run, one slot per <see cref="ScalePhase"/> and <see cref="CallKind"/> (<see cref="Slot"/>).</param>
    public CountingLedger(IBudgetLedger inner, ShadowAccount shadow, long[] calls)
    {
        _inner = inner;
        _shadow = shadow;
        _calls = calls;
    }

    public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        Count(IsLease(request.HoldId) ? CallKind.Lease : CallKind.Request);
        return _inner.ReserveAsync(request, cancellationToken);
    }

    public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        Count(IsLease(holdId) ? CallKind.Lease : CallKind.Request);
        return _inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
    }

    public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        Count(CallKind.Sweep);
        return _inner.ExpireAsync(now, cancellationToken);
    }

    public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        Count(CallKind.Lease);
        return _inner.ReadAsync(counters, cancellationToken);
    }

    public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        Count(CallKind.Request);
        return _inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);
    }

    /// <summary>The index of a phase's count of one kind of call.</summary>
    public static int Slot(ScalePhase phase, CallKind kind) => ((int)phase * 3) + (int)kind;

    // The lease decorator names its holds "lease:{instance}:{counter}:{n}"; requests' ids never start so here.
    private static bool IsLease(string holdId) => holdId.StartsWith("lease:", StringComparison.Ordinal);

    private void Count(CallKind kind) => Interlocked.Increment(ref _calls[Slot(_shadow.Phase, kind)]);
}
