namespace Purser.Budgets;

/// <summary>Requests the leases could not take: per-request holds on the inner ledger, seen as this instance sees its counters.</summary>
public sealed partial class LeasedBudgetLedger
{
    /// <summary>
    /// A request its leases could not take, as a per-request hold on the inner ledger. When that refuses it while one of
    /// its lines has a lease with nothing in flight, those leases are returned at once (their unused part is this
    /// instance's own headroom) and the hold is tried once more: a single instance then refuses only what the cap
    /// really cannot take. A grant's states are viewed as <see cref="ReadAsync"/> does, and refresh the state a lease's
    /// grants report.
    /// </summary>
    private async ValueTask<HoldOutcome> PassThroughAsync(HoldRequest request, LeaseSlot[] slots, CancellationToken cancellationToken)
    {
        var outcome = await _inner.ReserveAsync(request, cancellationToken).ConfigureAwait(false);
        if (!outcome.Granted && await ReturnIdleLeasesAsync(slots).ConfigureAwait(false))
        {
            outcome = await _inner.ReserveAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (!outcome.Granted)
        {
            return outcome;
        }

        var states = new CounterState[outcome.States.Count];
        for (var i = 0; i < states.Length; i++)
        {
            var slot = slots[i];
            lock (slot.Gate)
            {
                if (slot.LeaseId is null)
                {
                    states[i] = outcome.States[i];
                    continue;
                }

                slot.InnerState = outcome.States[i];
                states[i] = slot.ViewLocked();
            }
        }

        return HoldOutcome.Grant(states);
    }

    /// <summary>Returns the leases of <paramref name="slots"/> that nothing is drawn on; true when one was returned.</summary>
    private async Task<bool> ReturnIdleLeasesAsync(LeaseSlot[] slots)
    {
        var returned = false;

        // The refusing line's renewal may have just started in the background (one read, one hold): let it finish first.
        await Task.WhenAll(_background.Values).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var slot in slots)
        {
            lock (slot.Gate)
            {
                if (slot.LeaseId is null || slot.Held > 0)
                {
                    continue;
                }
            }

            if (Interlocked.CompareExchange(ref slot.Busy, 1, 0) != 0)
            {
                continue;
            }

            try
            {
                returned |= await RetireAsync(slot, force: false).ConfigureAwait(false);
            }
            catch (LedgerUnavailableException)
            {
                // Queued for the flush; the refusal stands.
            }
            finally
            {
                Volatile.Write(ref slot.Busy, 0);
            }
        }

        return returned;
    }
}
