using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// One counter's lease in <see cref="LeasedBudgetLedger"/>: the state and its invariants. Every field is guarded by
/// <see cref="Gate"/> except <see cref="Busy"/> (one lease operation — acquire, renew, retire — at a time).
/// Invariants, kept by every method here and checked by <see cref="Violations"/> (the property test calls it after
/// every step):
/// <list type="bullet">
/// <item>A lease's <see cref="Capacity"/> is the amount of its hold on the inner ledger: one slice, at most
/// <see cref="LeaseOptions.MaxLease"/> (and at most headroom / divisor when it was taken). Renewal replaces it by a new
/// slice (<see cref="Install"/>); nothing adds to it.</item>
/// <item>Draws fit: a draw is admitted only when <c>Held + Spent + amount ≤ Capacity</c> (tokens likewise), and while a
/// renewal is under way (<see cref="Renewing"/>) also <c>Held + amount ≤ CarryLimit</c>, so what is in flight always
/// fits the slice that replaces the lease.</item>
/// <item><see cref="Held"/> and <see cref="HeldTokens"/> are never negative.</item>
/// </list>
/// </summary>
internal sealed class LeaseSlot(CounterKey key)
{
    public readonly Lock Gate = new();
    public readonly CounterKey Key = key;
    public int Busy;
    public string? LeaseId;
    public long Capacity;
    public long CapacityTokens;
    public long Held;
    public long HeldTokens;
    public long Spent;
    public long SpentTokens;
    public long LastAmount;
    public long LastTokens;
    public bool Draining;

    /// <summary>A renewal knows its slice and is taking the new hold: draws keep what is in flight within <see cref="CarryLimit"/>.</summary>
    public bool Renewing;
    public long CarryLimit;
    public long CarryLimitTokens;
    public HoldLine? Line;
    public Money? CapUsd;
    public long? CapTokens;
    public CounterState InnerState;
    public DateTimeOffset LeaseExpiresAt;
    public DateTimeOffset RenewAt;
    public DateTimeOffset RetryAt;
    public DateTimeOffset LastUsed;

    /// <summary>Less than a quarter of the lease left: renew before it runs out.</summary>
    public bool RunningLow
    {
        get
        {
            lock (Gate)
            {
                return LeaseId is not null && !Draining && Capacity - Held - Spent < Capacity / 4;
            }
        }
    }

    /// <summary>
    /// Whether the lease can take a draw of <paramref name="amount"/> for <paramref name="line"/> now. A line whose cap
    /// changed marks the lease draining (it was taken under the old cap). Caller holds <see cref="Gate"/>.
    /// </summary>
    public bool Fits(HoldLine line, long amount, long tokens, DateTimeOffset now)
    {
        var capChanged = line.CapUsd != CapUsd || line.CapTokens != CapTokens;
        if (LeaseId is null || Draining || now >= LeaseExpiresAt || capChanged
            || Held + Spent + amount > Capacity
            || (line.CapTokens is not null && HeldTokens + SpentTokens + tokens > CapacityTokens)
            || (Renewing && (Held + amount > CarryLimit || HeldTokens + tokens > CarryLimitTokens)))
        {
            Draining |= LeaseId is not null && capChanged;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Makes <paramref name="leaseId"/> (a hold of <paramref name="slice"/>) the lease; what is in flight stays held and
    /// moves to it. Returns the old lease and what was spent on it, to be settled. Caller holds <see cref="Gate"/>.
    /// </summary>
    public (string? OldId, long OldSpent, long OldSpentTokens) Install(string leaseId, HoldLine leaseLine, HoldLine line, long slice, long sliceTokens, CounterState innerState, DateTimeOffset now, TimeSpan ttl)
    {
        var old = (LeaseId, Spent, SpentTokens);
        LeaseId = leaseId;
        Capacity = slice;
        CapacityTokens = sliceTokens;
        Spent = 0;
        SpentTokens = 0;
        Line = leaseLine;
        CapUsd = line.CapUsd;
        CapTokens = line.CapTokens;
        InnerState = innerState;
        LeaseExpiresAt = now + ttl;
        RenewAt = now + (ttl / 2);
        Draining = false;
        LastUsed = now;
        return old;
    }

    /// <summary>Forgets the lease; returns it and what to settle it at (spent plus what is still drawn, charged in full). Caller holds <see cref="Gate"/>.</summary>
    public (string Id, long Spent, long SpentTokens) Clear()
    {
        var cleared = (LeaseId!, Spent + Held, SpentTokens + HeldTokens);
        LeaseId = null;
        Capacity = 0;
        CapacityTokens = 0;
        Spent = 0;
        SpentTokens = 0;
        Draining = false;
        return cleared;
    }

    /// <summary>
    /// The counter as this instance sees it: its unflushed spend added, and of its own lease only what is in flight held
    /// (the lease's unused part is this instance's own headroom, not spend and not unavailable to it), so a single
    /// instance reads exactly cap − spent − in-flight holds. Other instances' leases stay held in full (conservative).
    /// </summary>
    public CounterState View(CounterState inner)
    {
        lock (Gate)
        {
            return LeaseId is null ? inner : ViewLocked(inner);
        }
    }

    /// <summary><see cref="View"/> of the inner state the lease was taken with. Caller holds <see cref="Gate"/>.</summary>
    public CounterState ViewLocked() => ViewLocked(InnerState);

    /// <summary>Broken invariants, for the tests: empty when the slot is sound.</summary>
    public IEnumerable<string> Violations(long maxLease)
    {
        var found = new List<string>();
        lock (Gate)
        {
            if (LeaseId is not null && Capacity > maxLease)
            {
                found.Add($"{Key}: a lease of {Capacity} above the maximum {maxLease}");
            }

            if (Held < 0 || HeldTokens < 0)
            {
                found.Add($"{Key}: held {Held} / {HeldTokens} tokens below 0");
            }

            if (Renewing && Held > CarryLimit)
            {
                found.Add($"{Key}: {Held} in flight while renewing to a slice of {CarryLimit}");
            }
        }

        return found;
    }

    /// <summary>
    /// Records that the lease <paramref name="oldCapacity"/> taken before this one was settled at <paramref name="spent"/>,
    /// in the inner state the current lease was taken with (the grant's budget headers read it). Caller holds <see cref="Gate"/>.
    /// </summary>
    public void OldLeaseSettled(long oldCapacity, long oldCapacityTokens, long spent, long spentTokens) =>
        InnerState = new CounterState(
            InnerState.Spent + new Money(spent),
            new Money(Math.Max(0, InnerState.Held.NanoUsd - oldCapacity)),
            InnerState.SpentTokens + spentTokens,
            Math.Max(0, InnerState.HeldTokens - oldCapacityTokens));

    private CounterState ViewLocked(CounterState inner)
    {
        // The inner held counts the whole lease (its hold); of it, Spent is spent and Held is in flight.
        var held = Math.Max(0, inner.Held.NanoUsd - Capacity + Held);
        var heldTokens = Math.Max(0, inner.HeldTokens - CapacityTokens + HeldTokens);
        return new CounterState(inner.Spent + new Money(Spent), new Money(held), inner.SpentTokens + SpentTokens, heldTokens);
    }
}
