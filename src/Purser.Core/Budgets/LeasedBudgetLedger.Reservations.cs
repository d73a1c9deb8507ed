using System.Collections.Concurrent;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// Reservations through the decorator. Creating, reading, releasing and expiring reservations go to the inner ledger
/// (a reservation's hold must lower the headroom every instance sees). Draws are local, as leases are: per reservation
/// this instance keeps a <see cref="ReservationSlice"/>, one draw it holds in the ledger on the reservation's remainder
/// (so other instances and children cannot take that money), and admits requests from it in memory; their actual spend
/// reaches the ledger when the slice is renewed (every flush pass after it was drawn on, and when it runs low: a new
/// slice is drawn, the requests in flight move into it, the old one is settled at what was spent) or returned (idle,
/// released, expired, shutdown). A draw that does not fit the slice, and every draw on a reservation whose remainder
/// is below a few worst cases, passes through to the ledger exactly. Before a release, a split or a read on this
/// instance, its slices of that reservation are returned first, so those see this instance's spend exactly.
/// </summary>
public sealed partial class LeasedBudgetLedger : IReservationLedger
{
    private readonly ConcurrentDictionary<string, ReservationSlice> _slices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LocalDraw> _draws = new(StringComparer.Ordinal);

    private IReservationLedger Reservations =>
        _inner as IReservationLedger ?? throw new NotSupportedException("The inner ledger does not keep reservations.");

    /// <summary>Reservations with a slice on this instance right now.</summary>
    public int ActiveSlices
    {
        get
        {
            var n = 0;
            foreach (var slice in _slices.Values)
            {
                lock (slice.Gate)
                {
                    n += slice.SliceId is null ? 0 : 1;
                }
            }

            return n;
        }
    }

    public async ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ParentId is { } parent && _slices.TryGetValue(parent, out var slice))
        {
            // A child is carved from the parent's remainder: this instance's slice of the parent goes back first.
            await ReturnSliceAsync(slice, close: false).ConfigureAwait(false);
        }

        return await Reservations.CreateReservationAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        cancellationToken.ThrowIfCancellationRequested();
        if (_holds.ContainsKey(request.HoldId) || _draws.ContainsKey(request.HoldId) || _settled.ContainsKey(request.HoldId))
        {
            throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
        }

        var amount = request.Amount.NanoUsd;
        var now = request.Now;
        var slice = _slices.GetOrAdd(request.ReservationId, static id => new ReservationSlice(id));
        bool needsSlice;
        lock (slice.Gate)
        {
            needsSlice = slice.SliceId is null && !slice.Closed && now >= slice.RetryAt;
        }

        // The first draw on a reservation takes its slice inline (once); later renewals happen in the background.
        if (needsSlice && Interlocked.CompareExchange(ref slice.Busy, 1, 0) == 0)
        {
            try
            {
                long worst;
                lock (slice.Gate)
                {
                    worst = Math.Max(slice.LastAmount, amount);
                }

                await AcquireSliceAsync(slice, request.KeyId, worst, cancellationToken).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // The pass-through below meets the same outage and reports it.
            }
            finally
            {
                Volatile.Write(ref slice.Busy, 0);
            }
        }

        DrawOutcome? local = null;
        bool hasSlice;
        lock (slice.Gate)
        {
            slice.LastUsed = now;
            slice.LastAmount = Math.Max(slice.LastAmount, amount);
            hasSlice = slice.SliceId is not null;
            if (slice.Fits(request.KeyId, amount, now))
            {
                slice.Held += amount;
                slice.HeldTokens += request.Tokens;
                slice.DrawnSinceInstall = true;
                _draws[request.HoldId] = new LocalDraw(slice, amount, request.Tokens, request.ExpiresAt);
                local = new DrawOutcome(ReservationStatus.Done, new Money(slice.Remaining));
            }
        }

        if (hasSlice && (local is null || slice.RunningLow))
        {
            RenewSliceInBackground(slice);
        }

        return local ?? await PassThroughDrawAsync(slice, request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken)
    {
        var view = await Reservations.GetReservationAsync(id, keyId, cancellationToken).ConfigureAwait(false);
        if (view is not null && await ReturnTreeSlicesAsync(view.RootId).ConfigureAwait(false))
        {
            // This instance's unsettled spend is in the ledger now: read it again.
            view = await Reservations.GetReservationAsync(id, keyId, cancellationToken).ConfigureAwait(false);
        }

        return view;
    }

    public async ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var view = await Reservations.GetReservationAsync(id, keyId, cancellationToken).ConfigureAwait(false);
        if (view is not null)
        {
            // Children first, each settled: this instance's slices of the subtree are closed and returned before the
            // release, so the release gives back exactly what is unspent (a slice with requests in flight is returned
            // when the last of them settles; until then it stays held, as a draw in flight does).
            await CloseSlicesAsync(view).ConfigureAwait(false);
        }

        var outcome = await Reservations.ReleaseReservationAsync(id, keyId, now, cancellationToken).ConfigureAwait(false);
        foreach (var ended in outcome.Ended)
        {
            await CloseSliceAsync(ended.Id).ConfigureAwait(false);
        }

        return outcome;
    }

    public async ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var slice in _slices.Values)
        {
            bool expired;
            lock (slice.Gate)
            {
                expired = slice.SliceId is not null && slice.ExpiresAt <= now;
            }

            if (expired)
            {
                await ReturnSliceAsync(slice, close: true).ConfigureAwait(false);
            }
        }

        var outcome = await Reservations.ExpireReservationsAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var ended in outcome.Ended)
        {
            await CloseSliceAsync(ended.Id).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>The inner ledger's trees: a slice reads as held by a draw in flight until it is renewed or returned.</summary>
    public ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken) =>
        Reservations.ListReservationsAsync(keyId, liveOnly, limit, cancellationToken);

    private ValueTask<SettleOutcome> SettleDrawAsync(string holdId, LocalDraw draw, long actual, long actualTokens)
    {
        var slice = draw.Slice;
        SettleOutcome outcome;
        bool returnDue;
        lock (slice.Gate)
        {
            switch (draw.State)
            {
                case LocalHoldState.Held:
                    slice.Held -= draw.Amount;
                    slice.HeldTokens -= draw.Tokens;
                    slice.Spent += actual;
                    slice.SpentTokens += actualTokens;
                    draw.State = LocalHoldState.Settled;
                    outcome = SettleOutcome.Settled;
                    break;

                case LocalHoldState.Expired:
                    // The full charge sits in the current slice unless it was settled since: then it stays charged in
                    // full (never under-counted).
                    if (slice.SliceId is not null && slice.Spent + actual - draw.Amount >= 0)
                    {
                        slice.Spent += actual - draw.Amount;
                        slice.SpentTokens = Math.Max(0, slice.SpentTokens + actualTokens - draw.Tokens);
                    }

                    draw.State = LocalHoldState.Corrected;
                    outcome = SettleOutcome.CorrectedAfterExpiry;
                    break;

                default:
                    return ValueTask.FromResult(SettleOutcome.AlreadySettled);
            }

            draw.SettledAt = _time.GetUtcNow();
            returnDue = slice.ReturnDue;
        }

        // Remembered before it is forgotten, so a concurrent repeat finds it in one place or the other.
        _settled[holdId] = 0;
        _settledOrder.Enqueue((holdId, draw.SettledAt));
        _draws.TryRemove(holdId, out _);
        return returnDue ? ReturnAfterSettleAsync(slice, outcome) : ValueTask.FromResult(outcome);
    }

    private async ValueTask<SettleOutcome> ReturnAfterSettleAsync(ReservationSlice slice, SettleOutcome outcome)
    {
        try
        {
            // The last request in flight on a released (or draining) slice: the slice goes back now.
            await ReturnSliceAsync(slice, close: false).ConfigureAwait(false);
        }
        catch (LedgerUnavailableException)
        {
            // Queued for the flush pass; the request's settlement itself is done.
        }

        return outcome;
    }

    /// <summary>Charges this instance's expired draws in full on their slices, exactly as the ledger charges an expired draw.</summary>
    private int ExpireLocalDraws(DateTimeOffset now)
    {
        var expired = 0;
        foreach (var draw in _draws.Values)
        {
            if (draw.ExpiresAt > now)
            {
                continue;
            }

            lock (draw.Slice.Gate)
            {
                if (draw.State != LocalHoldState.Held)
                {
                    continue;
                }

                draw.Slice.Held -= draw.Amount;
                draw.Slice.HeldTokens -= draw.Tokens;
                draw.Slice.Spent += draw.Amount;
                draw.Slice.SpentTokens += draw.Tokens;
                draw.State = LocalHoldState.Expired;
                expired++;
            }
        }

        return expired;
    }

    /// <summary>Forgets draws that expired and were never settled, after the retention (they stay charged in full).</summary>
    private void ForgetExpiredDraws(DateTimeOffset forget)
    {
        foreach (var (id, draw) in _draws)
        {
            if (draw.State == LocalHoldState.Expired && draw.ExpiresAt <= forget)
            {
                _draws.TryRemove(id, out _);
            }
        }
    }
}
