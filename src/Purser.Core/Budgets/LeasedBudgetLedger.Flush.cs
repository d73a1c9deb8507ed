namespace Purser.Budgets;

/// <summary>The background side of the decorator: the flush pass, its loop, and the shutdown that returns every lease.</summary>
public sealed partial class LeasedBudgetLedger
{
    /// <summary>
    /// Starts the flush loop (idempotent): a pass every <see cref="LeaseOptions.FlushInterval"/> until disposal. The
    /// gateway's <c>Hosting/BackgroundLoops</c> calls it when the host starts; without it nothing is renewed or returned
    /// in the background (tests drive <see cref="FlushAsync"/> themselves).
    /// </summary>
    public void Start()
    {
        lock (_loopGate)
        {
            if (_loop is null && Volatile.Read(ref _disposed) == 0)
            {
                _loop = Task.Run(RunAsync);
            }
        }
    }

    /// <summary>
    /// One flush pass: retries failed lease settlements, renews leases at half their TTL, returns idle ones, renews or
    /// returns reservation slices (LeasedBudgetLedger.Slices) and forgets
    /// old settled holds. The background loop runs it every <see cref="LeaseOptions.FlushInterval"/>.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _leaseOperations, await _pending.RetryAsync(_inner, cancellationToken).ConfigureAwait(false));
        var now = _time.GetUtcNow();
        foreach (var slot in _slots.Values)
        {
            if (Interlocked.CompareExchange(ref slot.Busy, 1, 0) != 0)
            {
                continue;
            }

            try
            {
                bool retire;
                bool renew;
                lock (slot.Gate)
                {
                    if (slot.LeaseId is null)
                    {
                        continue;
                    }

                    var idle = now - slot.LastUsed >= _options.IdleAfter;
                    retire = slot.Held == 0 && (idle || slot.Draining);
                    renew = !retire && !slot.Draining && now >= slot.RenewAt;
                }

                if (retire)
                {
                    await RetireAsync(slot, force: false).ConfigureAwait(false);
                }
                else if (renew && slot.Line is { } line)
                {
                    await AcquireAsync(slot, line, slot.LastAmount, slot.LastTokens, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (LedgerUnavailableException)
            {
                // The lease keeps serving until it is used up or expires; the next pass tries again.
            }
            finally
            {
                Volatile.Write(ref slot.Busy, 0);
            }
        }

        await FlushSlicesAsync(now, cancellationToken).ConfigureAwait(false);
        var forget = now - _options.SettledRetention;
        lock (_settledOrder)
        {
            while (_settledOrder.TryPeek(out var oldest) && oldest.At <= forget && _settledOrder.TryDequeue(out oldest))
            {
                _settled.TryRemove(oldest.Id, out _);
            }
        }

        foreach (var (id, hold) in _holds)
        {
            // Settled holds left at settlement; one that expired and was never settled is forgotten after the retention
            // too (it stays charged in full).
            if (hold.State == LocalHoldState.Expired && hold.ExpiresAt <= forget)
            {
                _holds.TryRemove(id, out _);
            }
        }

        ForgetExpiredDraws(forget);
    }

    /// <summary>Returns every lease: settled at what was spent, plus what is still drawn (charged in full: never under-counted).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_loopGate)
        {
            loop = _loop;
        }

        if (loop is not null)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await Task.WhenAll(_background.Values).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var slot in _slots.Values)
        {
            try
            {
                await RetireAsync(slot, force: true).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // Queued in RetireAsync; tried once more below, else the lease expires, charged in full.
            }
        }

        await ReturnAllSlicesAsync().ConfigureAwait(false);

        // A last try; what still fails expires charged in full (never under-counted), so nothing here may stop the shutdown.
        var retry = _pending.RetryAsync(_inner, CancellationToken.None);
        await ((Task)retry).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (retry.IsCompletedSuccessfully)
        {
            Interlocked.Add(ref _leaseOperations, await retry.ConfigureAwait(false));
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(_options.FlushInterval, _time, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await FlushAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
            {
                // An outage or the shutdown: the next pass tries again.
            }
#pragma warning disable CA1031 // Any other failure is reported; the loop must outlive it (leases still need renewing).
            catch (Exception ex)
#pragma warning restore CA1031
            {
                ReportFlushError(ex);
            }
        }
    }

    private void ReportFlushError(Exception error)
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
}
