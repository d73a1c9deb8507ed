using System.Collections.Concurrent;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Postgres.Ledger;

/// <summary>
/// A ledger whose failed settlements are retried in the background until PostgreSQL takes them. Without it, a request
/// that was admitted just before an outage keeps its hold, which then expires and is charged in full: safe (never
/// under-counted) but wrong by the unused part of the worst case, and the ledger would no longer match the usage
/// records. Settlement is idempotent and a late one corrects an expired hold, so retrying is always safe. The caller
/// still sees the failure (it fails closed on what it can observe); only the charge is repaired later. The retry loop
/// runs from <see cref="Start"/> (the gateway's <c>Hosting/BackgroundLoops</c> calls it when the host starts); a retry
/// that fails other than by an outage is reported through the error callback and dropped (the hold still expires,
/// charged in full), and the loop goes on.
/// </summary>
public sealed partial class SettlementRetry : IBudgetLedger, IAsyncDisposable
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainOnDispose = TimeSpan.FromSeconds(5);

    private readonly IBudgetLedger _inner;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, PendingSettle> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<Exception>? _onError;
    private readonly Lock _gate = new();
    private Task? _loop;
    private bool _disposed;

    /// <param name="onError">Hears a retried settlement that failed other than by an outage (it is not retried).</param>
    public SettlementRetry(IBudgetLedger inner, TimeProvider time, Action<Exception>? onError = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(time);
        _inner = inner;
        _time = time;
        _onError = onError;
    }

    /// <summary>Starts the retry loop (idempotent; not after disposal).</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is null && !_disposed)
            {
                _loop = Task.Run(RunAsync);
            }
        }
    }

    /// <summary>Settlements that failed and wait for the database.</summary>
    public int PendingCount => _pending.Count;

    public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken) => _inner.ReserveAsync(request, cancellationToken);

    public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        try
        {
            return await _inner.SettleAsync(holdId, actual, actualTokens, cancellationToken).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            _pending[holdId] = new PendingSettle(holdId, actual, actualTokens);
            _wake.Release();
            throw;
        }
    }

    public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) => _inner.ExpireAsync(now, cancellationToken);

    public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken) =>
        _inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken);

    public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken) =>
        _inner.ReadAsync(counters, cancellationToken);

    /// <summary>Stops retrying after one last bounded attempt to land what is pending (the rest expires, charged in full). Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            loop = _loop;
        }

        using (var bound = new CancellationTokenSource(DrainOnDispose, _time))
        {
            await ((Task)RetryPendingAsync(bound.Token)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = FirstBackoff;
        while (!_stop.IsCancellationRequested)
        {
            if (_pending.IsEmpty)
            {
                backoff = FirstBackoff;
                await _wake.WaitAsync(_stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            await Task.Delay(backoff, _time, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var landedAll = await RetryPendingAsync(_stop.Token).ConfigureAwait(false);
            backoff = landedAll ? FirstBackoff : (backoff * 2 < MaxBackoff ? backoff * 2 : MaxBackoff);
        }
    }

    /// <summary>One pass over the pending settlements; false when the database is still unavailable.</summary>
    private async Task<bool> RetryPendingAsync(CancellationToken ct)
    {
        foreach (var (holdId, settle) in _pending)
        {
            if (ct.IsCancellationRequested)
            {
                return false;
            }

            try
            {
                // Any outcome (settled, already settled, corrected, unknown hold) is final: only an outage is retried.
                await _inner.SettleAsync(holdId, settle.Actual, settle.ActualTokens, ct).ConfigureAwait(false);
                _pending.TryRemove(holdId, out _);
            }
            catch (LedgerUnavailableException)
            {
                return false;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
#pragma warning disable CA1031 // Anything else is not an outage: retrying would repeat it, and the hold still expires, charged in full.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _pending.TryRemove(holdId, out _);
                ReportError(ex);
            }
        }

        return true;
    }

    private void ReportError(Exception error)
    {
        try
        {
            _onError?.Invoke(error);
        }
#pragma warning disable CA1031 // A throwing error callback must not stop the loop.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private readonly record struct PendingSettle(string HoldId, Money Actual, long ActualTokens);
}
