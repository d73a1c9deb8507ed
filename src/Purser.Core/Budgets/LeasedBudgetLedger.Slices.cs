using System.Globalization;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// The slice protocol, the lease protocol's twin for reservations: acquire (read the reservation, draw a slice of its
/// remainder), renew (a new slice the requests in flight move into, then the old one settled at what was spent on it),
/// return (settled at what was spent), and the flush pass over slices.
/// </summary>
public sealed partial class LeasedBudgetLedger
{
    /// <summary>
    /// Takes a slice of the reservation's remainder, or renews the one this instance has: min(<see cref="LeaseOptions.MaxLease"/>,
    /// remainder / <see cref="LeaseOptions.Divisor"/>), and none when the remainder is below
    /// <see cref="LeaseOptions.PassThroughWorstCases"/> worst cases (draws then pass through, exactly). A reservation found
    /// ended closes the slice. The caller owns <see cref="ReservationSlice.Busy"/>.
    /// </summary>
    private async Task<bool> AcquireSliceAsync(ReservationSlice slice, string keyId, long worstCase, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        Interlocked.Increment(ref _leaseOperations);
        var view = await Reservations.GetReservationAsync(slice.ReservationId, keyId, ct).ConfigureAwait(false);
        if (view is null || view.State != ReservationState.Live || view.ExpiresAt <= now)
        {
            bool returnDue;
            lock (slice.Gate)
            {
                slice.RetryAt = now + _options.FlushInterval;
                slice.Closed |= view is not null;
                returnDue = slice.ReturnDue;
            }

            if (returnDue)
            {
                await ReturnSliceAsync(slice, close: false).ConfigureAwait(false);
            }

            return false;
        }

        var remaining = view.Remaining.NanoUsd;
        var size = Math.Min(_options.MaxLease.NanoUsd, remaining / _options.Divisor);
        lock (slice.Gate)
        {
            if (slice.Closed)
            {
                return false;
            }

            if (remaining < _options.PassThroughWorstCases * worstCase || size < worstCase || size <= 0
                || (slice.SliceId is not null && slice.Held > size))
            {
                // Too close to the end of the reservation for slices (or what is in flight does not fit one): the slice
                // in use is drained and returned, and draws pass through.
                slice.RetryAt = now + _options.FlushInterval;
                slice.Draining = slice.SliceId is not null;
                return false;
            }

            if (slice.SliceId is not null)
            {
                slice.Renewing = true;
                slice.CarryLimit = size;
            }
        }

        try
        {
            return await ReplaceSliceAsync(slice, view, size, now, ct).ConfigureAwait(false);
        }
        finally
        {
            lock (slice.Gate)
            {
                slice.Renewing = false;
            }
        }
    }

    private async Task<bool> ReplaceSliceAsync(ReservationSlice slice, ReservationView view, long size, DateTimeOffset now, CancellationToken ct)
    {
        var sliceId = string.Create(CultureInfo.InvariantCulture, $"slice:{_options.InstanceId}:{slice.ReservationId}:{Interlocked.Increment(ref _sequence)}");
        var request = new DrawRequest(sliceId, slice.ReservationId, view.KeyId, new Money(size), 0, now, now + _options.LeaseTtl);
        DrawOutcome outcome;
        Interlocked.Increment(ref _leaseOperations);
        try
        {
            outcome = await Reservations.DrawAsync(request, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
        {
            // Whether it was taken is unknown: settled at 0 (a no-op if it was not) on the next flush or at shutdown.
            _pending.Add(sliceId, 0, 0);
            throw;
        }

        string? oldId = null;
        long oldCapacity = 0;
        long oldSpent = 0;
        long oldSpentTokens = 0;
        var installed = false;
        var returnDue = false;
        lock (slice.Gate)
        {
            if (outcome.Status != ReservationStatus.Done)
            {
                slice.RetryAt = now + _options.FlushInterval;
                slice.Closed |= outcome.Status is ReservationStatus.NotLive or ReservationStatus.Unknown;
                slice.Draining = slice.SliceId is not null;
                returnDue = slice.ReturnDue;
            }
            else if (!slice.Closed)
            {
                // Held (the requests in flight) stays: it moves to the new slice, and the carry limit kept it within it.
                (oldId, oldCapacity, oldSpent, oldSpentTokens) = slice.Install(
                    sliceId, size, outcome.Remaining.NanoUsd, view, now, _options.LeaseTtl, _options.LeaseTtl / 2);
                installed = true;
            }
        }

        if (outcome.Status == ReservationStatus.Done && !installed)
        {
            // Released while the slice was being drawn: it goes straight back.
            await SettleLeaseAsync(sliceId, 0, 0).ConfigureAwait(false);
            return false;
        }

        if (returnDue)
        {
            await ReturnSliceAsync(slice, close: false).ConfigureAwait(false);
        }

        if (oldId is not null)
        {
            await SettleLeaseAsync(oldId, oldSpent, oldSpentTokens).ConfigureAwait(false);
            lock (slice.Gate)
            {
                // The old slice's unused part went back to the reservation's remainder.
                slice.LedgerRemaining += Math.Max(0, oldCapacity - oldSpent);
            }
        }

        return installed;
    }

    /// <summary>A draw the slice could not take goes to the ledger; the remainder it reports counts this instance's unused slice.</summary>
    private async Task<DrawOutcome> PassThroughDrawAsync(ReservationSlice slice, DrawRequest request, CancellationToken ct)
    {
        var outcome = await Reservations.DrawAsync(request, ct).ConfigureAwait(false);
        if (outcome.Status == ReservationStatus.Exhausted)
        {
            bool retry;
            lock (slice.Gate)
            {
                retry = slice.SliceId is not null && slice.Held == 0 && outcome.Remaining.NanoUsd + slice.Free >= request.Amount.NanoUsd;
            }

            // The money the request needs sits partly in this instance's own slice: return it and draw again.
            if (retry && await ReturnSliceAsync(slice, close: false).ConfigureAwait(false))
            {
                outcome = await Reservations.DrawAsync(request, ct).ConfigureAwait(false);
            }
        }

        if (outcome.Status is not (ReservationStatus.Done or ReservationStatus.Exhausted))
        {
            return outcome;
        }

        lock (slice.Gate)
        {
            if (slice.SliceId is not null)
            {
                slice.LedgerRemaining = outcome.Remaining.NanoUsd;
            }

            return outcome with { Remaining = new Money(outcome.Remaining.NanoUsd + slice.Free) };
        }
    }

    /// <summary>
    /// Returns the slice (settled at what was spent on it) when nothing is drawn on it; otherwise marks it draining, and
    /// the last request in flight returns it when it settles. With <paramref name="close"/>, the slice never takes a new one.
    /// True when a slice was returned now.
    /// </summary>
    private async Task<bool> ReturnSliceAsync(ReservationSlice slice, bool close)
    {
        string id;
        long capacity;
        long spent;
        long spentTokens;
        lock (slice.Gate)
        {
            slice.Closed |= close;
            if (slice.SliceId is null)
            {
                return false;
            }

            if (slice.Held > 0)
            {
                slice.Draining = true;
                return false;
            }

            (id, capacity, spent, spentTokens) = slice.Clear();
            slice.LedgerRemaining += Math.Max(0, capacity - spent);
        }

        await SettleLeaseAsync(id, spent, spentTokens).ConfigureAwait(false);
        return true;
    }

    /// <summary>Returns this instance's idle slices of one tree; true when any was returned.</summary>
    private async Task<bool> ReturnTreeSlicesAsync(string rootId)
    {
        var any = false;
        foreach (var slice in _slices.Values)
        {
            bool ofTree;
            lock (slice.Gate)
            {
                ofTree = slice.SliceId is not null && slice.RootId == rootId && slice.Held == 0;
            }

            if (ofTree)
            {
                any |= await ReturnSliceAsync(slice, close: false).ConfigureAwait(false);
            }
        }

        return any;
    }

    /// <summary>Closes this instance's slices of a reservation and its subtree, returning those nothing is drawn on.</summary>
    private async Task CloseSlicesAsync(ReservationView view)
    {
        foreach (var child in view.Children)
        {
            await CloseSlicesAsync(child).ConfigureAwait(false);
        }

        await CloseSliceAsync(view.Id).ConfigureAwait(false);
    }

    private async Task CloseSliceAsync(string reservationId)
    {
        if (_slices.TryGetValue(reservationId, out var slice))
        {
            await ReturnSliceAsync(slice, close: true).ConfigureAwait(false);
        }
    }

    private void RenewSliceInBackground(ReservationSlice slice)
    {
        string? keyId;
        lock (slice.Gate)
        {
            var due = slice.SliceId is not null && !slice.Draining && !slice.Closed && _time.GetUtcNow() >= slice.RetryAt && !_stop.IsCancellationRequested;
            keyId = due ? slice.KeyId : null;
        }

        if (keyId is null || Interlocked.CompareExchange(ref slice.Busy, 1, 0) != 0)
        {
            return;
        }

        var id = Interlocked.Increment(ref _sequence);
        var task = Task.Run(async () =>
        {
            try
            {
                await AcquireSliceAsync(slice, keyId, Volatile.Read(ref slice.LastAmount), _stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LedgerUnavailableException or OperationCanceledException)
            {
                // The slice serves what it still can; the flush pass retries.
            }
            finally
            {
                Volatile.Write(ref slice.Busy, 0);
                _background.TryRemove(id, out _);
            }
        });
        _background[id] = task;
    }

    /// <summary>
    /// The flush pass over slices: one drawn on since it was taken is renewed (its spend reaches the ledger, and a
    /// reservation released elsewhere is found ended), any other is checked with one read; an idle, draining or closed
    /// one with nothing in flight is returned; one whose reservation expired is closed. Empty slices idle or closed are
    /// forgotten. So a release on another instance stops this one's draws on it within one flush interval.
    /// </summary>
    private async Task FlushSlicesAsync(DateTimeOffset now, CancellationToken ct)
    {
        foreach (var (reservationId, slice) in _slices)
        {
            if (Interlocked.CompareExchange(ref slice.Busy, 1, 0) != 0)
            {
                continue;
            }

            try
            {
                bool returnNow;
                bool close;
                bool renew;
                string? keyId;
                lock (slice.Gate)
                {
                    var idle = now - slice.LastUsed >= _options.IdleAfter;
                    if (slice.SliceId is null)
                    {
                        if (slice.Held == 0 && (idle || slice.Closed))
                        {
                            // Closed first, so a caller still holding this object passes through instead of taking a slice on it.
                            slice.Closed = true;
                            _slices.TryRemove(reservationId, out _);
                        }

                        continue;
                    }

                    close = now >= slice.ExpiresAt;
                    returnNow = slice.Held == 0 && (idle || close || slice.Closed || slice.Draining);
                    renew = !returnNow && !close && !slice.Closed && !slice.Draining && (slice.DrawnSinceInstall || now >= slice.RenewAt);
                    keyId = slice.KeyId;
                    slice.Closed |= close;
                }

                if (returnNow)
                {
                    await ReturnSliceAsync(slice, close).ConfigureAwait(false);
                }
                else if (renew && keyId is not null)
                {
                    await AcquireSliceAsync(slice, keyId, Volatile.Read(ref slice.LastAmount), ct).ConfigureAwait(false);
                }
                else if (!close && keyId is not null)
                {
                    await CheckLiveAsync(slice, keyId, ct).ConfigureAwait(false);
                }
            }
            catch (LedgerUnavailableException)
            {
                // The slice keeps serving until it is used up or expires; the next pass tries again.
            }
            finally
            {
                Volatile.Write(ref slice.Busy, 0);
            }
        }
    }

    /// <summary>A slice nothing was drawn on since it was taken: one read finds a reservation released on another instance.</summary>
    private async Task CheckLiveAsync(ReservationSlice slice, string keyId, CancellationToken ct)
    {
        Interlocked.Increment(ref _leaseOperations);
        var view = await Reservations.GetReservationAsync(slice.ReservationId, keyId, ct).ConfigureAwait(false);
        if (view is null || view.State != ReservationState.Live)
        {
            await ReturnSliceAsync(slice, close: true).ConfigureAwait(false);
        }
    }

    /// <summary>At shutdown: every slice settled at what was spent, plus what is still drawn (charged in full: never under-counted).</summary>
    private async Task ReturnAllSlicesAsync()
    {
        foreach (var slice in _slices.Values)
        {
            string? id = null;
            long spent = 0;
            long spentTokens = 0;
            lock (slice.Gate)
            {
                slice.Closed = true;
                if (slice.SliceId is not null)
                {
                    (id, _, spent, spentTokens) = slice.Clear();
                }
            }

            if (id is null)
            {
                continue;
            }

            try
            {
                await SettleLeaseAsync(id, spent, spentTokens).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // Queued; tried once more at the end of the shutdown, else the slice expires, charged in full.
            }
        }
    }
}
