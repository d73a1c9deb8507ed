using System.Globalization;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>The lease protocol: acquire, renew (in the background), size a slice, retire and settle a lease.</summary>
public sealed partial class LeasedBudgetLedger
{
    /// <summary>
    /// Takes a lease on <paramref name="slot"/>'s counter, or renews the one it has. A renewal takes a new hold of a fresh
    /// slice only (sized by the rule from the counter as read now), carries the requests in flight into it, then settles
    /// the old hold at what was spent against it. The old lease's unspent capacity is not carried: it is returned by that
    /// settlement, so a lease never holds more than one slice. From the moment the slice is known until the new hold is
    /// in place, draws on the old lease are limited so that what is in flight still fits the slice (a request that does
    /// not passes through); when it already does not, the old lease is drained and returned instead of renewed.
    /// The caller owns <see cref="LeaseSlot.Busy"/>.
    /// </summary>
    private async Task<bool> AcquireAsync(LeaseSlot slot, HoldLine line, long worstCase, long worstTokens, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        Interlocked.Increment(ref _leaseOperations);
        var state = (await _inner.ReadAsync([slot.Key], ct).ConfigureAwait(false))[0];
        if (!Slice(line, state, worstCase, worstTokens, out var slice, out var sliceTokens))
        {
            lock (slot.Gate)
            {
                slot.RetryAt = now + _options.FlushInterval;
                slot.Draining = slot.LeaseId is not null;
            }

            return false;
        }

        lock (slot.Gate)
        {
            if (slot.LeaseId is not null)
            {
                if (slot.Held > slice || (line.CapTokens is not null && slot.HeldTokens > sliceTokens))
                {
                    // What is in flight does not fit one slice: let it finish on the old lease, return that, start afresh.
                    slot.RetryAt = now + _options.FlushInterval;
                    slot.Draining = true;
                    return false;
                }

                slot.Renewing = true;
                slot.CarryLimit = slice;
                slot.CarryLimitTokens = line.CapTokens is null ? long.MaxValue : sliceTokens;
            }
        }

        try
        {
            return await ReplaceLeaseAsync(slot, line, slice, sliceTokens, now, ct).ConfigureAwait(false);
        }
        finally
        {
            lock (slot.Gate)
            {
                slot.Renewing = false;
            }
        }
    }

    private async Task<bool> ReplaceLeaseAsync(LeaseSlot slot, HoldLine line, long slice, long sliceTokens, DateTimeOffset now, CancellationToken ct)
    {
        var leaseId = string.Create(CultureInfo.InvariantCulture, $"lease:{_options.InstanceId}:{slot.Key}:{Interlocked.Increment(ref _sequence)}");
        var leaseLine = line with { Mode = AccountingMode.Reserve, Enforcement = Enforcement.Hard };
        var request = new HoldRequest(leaseId, [leaseLine], new Money(slice), sliceTokens, now + _options.LeaseTtl);
        HoldOutcome outcome;
        Interlocked.Increment(ref _leaseOperations);
        try
        {
            outcome = await _inner.ReserveAsync(request, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
        {
            // Whether it was taken is unknown (an outage, or a stop cancelling the call after the database committed it):
            // release it (idempotently) on the next flush or at shutdown.
            _pending.Add(leaseId, 0, 0);
            throw;
        }

        string? oldId;
        long oldSpent;
        long oldSpentTokens;
        long oldCapacity;
        long oldCapacityTokens;
        lock (slot.Gate)
        {
            if (!outcome.Granted)
            {
                slot.RetryAt = now + _options.FlushInterval;
                slot.Draining = slot.LeaseId is not null;
                return false;
            }

            // Held (the requests in flight) stays: it moves to the new lease, and the carry limit kept it within the slice.
            (oldCapacity, oldCapacityTokens) = (slot.Capacity, slot.CapacityTokens);
            (oldId, oldSpent, oldSpentTokens) = slot.Install(leaseId, leaseLine, line, slice, sliceTokens, outcome.States[0], now, _options.LeaseTtl);
        }

        if (oldId is not null)
        {
            await SettleLeaseAsync(oldId, oldSpent, oldSpentTokens).ConfigureAwait(false);
            lock (slot.Gate)
            {
                // The new lease's inner state still held the old lease in full: it is now spent at what was drawn on it.
                if (slot.LeaseId == leaseId)
                {
                    slot.OldLeaseSettled(oldCapacity, oldCapacityTokens, oldSpent, oldSpentTokens);
                }
            }
        }

        return true;
    }

    /// <summary>The slice a new lease takes, or false when the counter is too close to its cap for leasing.</summary>
    private bool Slice(HoldLine line, CounterState state, long worstCase, long worstTokens, out long slice, out long sliceTokens)
    {
        slice = _options.MaxLease.NanoUsd;
        sliceTokens = 0;
        if (line.CapUsd is { } cap)
        {
            // The old lease is part of the counter's held: what it may still need is not headroom for the new one.
            var headroom = cap.NanoUsd - state.Spent.NanoUsd - state.Held.NanoUsd;
            if (headroom < _options.PassThroughWorstCases * worstCase)
            {
                return false;
            }

            slice = Math.Min(slice, headroom / _options.Divisor);
        }

        if (line.CapTokens is { } capTokens)
        {
            var headroomTokens = capTokens - state.SpentTokens - state.HeldTokens;
            if (headroomTokens < _options.PassThroughWorstCases * worstTokens)
            {
                return false;
            }

            sliceTokens = headroomTokens / _options.Divisor;
            if (sliceTokens < worstTokens)
            {
                return false;
            }
        }

        return slice >= worstCase && slice > 0;
    }

    /// <summary>Settles the lease when nothing is drawn on it (or always, with <paramref name="force"/>, charging what is drawn in full).</summary>
    private async Task<bool> RetireAsync(LeaseSlot slot, bool force)
    {
        string? id;
        long spent;
        long spentTokens;
        lock (slot.Gate)
        {
            if (slot.LeaseId is null || (!force && slot.Held > 0))
            {
                return false;
            }

            (id, spent, spentTokens) = slot.Clear();
        }

        await SettleLeaseAsync(id, spent, spentTokens).ConfigureAwait(false);
        return true;
    }

    private async Task SettleLeaseAsync(string leaseId, long spent, long spentTokens)
    {
        Interlocked.Increment(ref _leaseOperations);
        try
        {
            // Never cancelled: once the lease is out of its slot nothing else would settle it, and a stop in the middle
            // of a renewal (shutdown cancels the flush) would leave the old hold to expire, charged in full.
            await _inner.SettleAsync(leaseId, new Money(spent), spentTokens, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            // Idempotent, so retried until it lands; meanwhile the hold may expire and be charged in full, then corrected.
            _pending.Add(leaseId, spent, spentTokens);
            throw;
        }
    }

    private void RenewInBackground(LeaseSlot slot)
    {
        bool due;
        lock (slot.Gate)
        {
            // A draining lease is returned, not renewed (it was taken under a cap that changed, or its requests in flight
            // outgrew a slice); the next request takes a fresh one under the line it brings.
            due = slot.Line is not null && !slot.Draining && _time.GetUtcNow() >= slot.RetryAt && !_stop.IsCancellationRequested;
        }

        if (!due || Interlocked.CompareExchange(ref slot.Busy, 1, 0) != 0)
        {
            return;
        }

        var id = Interlocked.Increment(ref _sequence);
        var task = Task.Run(async () =>
        {
            try
            {
                if (slot.Line is { } line)
                {
                    await AcquireAsync(slot, line, slot.LastAmount, slot.LastTokens, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
            {
                // The lease serves what it still can; the flush pass retries.
            }
            finally
            {
                Volatile.Write(ref slot.Busy, 0);
                _background.TryRemove(id, out _);
            }
        });
        _background[id] = task;
    }
}
