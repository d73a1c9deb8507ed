using Purser.Budgets.Reservations;

namespace Purser.Budgets;

/// <summary>
/// One reservation's slice in <see cref="LeasedBudgetLedger"/>: a draw this instance holds on the reservation in the
/// ledger (so no other instance and no child can take that money), from which requests draw in memory. Every field is
/// guarded by <see cref="Gate"/> except <see cref="Busy"/> (one slice operation — acquire, renew, retire — at a time).
/// Invariants, kept by every method here and checked by <see cref="Violations"/>:
/// <list type="bullet">
/// <item>A slice's <see cref="Capacity"/> is the amount of its draw in the ledger, at most
/// <see cref="LeaseOptions.MaxLease"/> (and at most the reservation's remainder / divisor when it was taken).</item>
/// <item>A request is admitted only when <c>Held + Spent + amount ≤ Capacity</c>, and while a renewal is under way also
/// <c>Held + amount ≤ CarryLimit</c>, so what is in flight always fits the slice that replaces this one.</item>
/// <item>A <see cref="Closed"/> slice (its reservation was released or expired) admits nothing and never takes a new
/// slice; it is returned as soon as nothing is drawn on it.</item>
/// <item><see cref="Held"/> is never negative.</item>
/// </list>
/// </summary>
internal sealed class ReservationSlice(string reservationId)
{
    public readonly Lock Gate = new();
    public readonly string ReservationId = reservationId;
    public int Busy;
    public string? SliceId;
    public long Capacity;
    public long Held;
    public long HeldTokens;
    public long Spent;
    public long SpentTokens;
    public long LastAmount;
    public string? KeyId;
    public string? RootId;

    /// <summary>The reservation's remainder in the ledger outside this slice, as of the last call that read it.</summary>
    public long LedgerRemaining;

    /// <summary>The reservation's own expiry: no draw is admitted at or after it.</summary>
    public DateTimeOffset ExpiresAt;
    public DateTimeOffset SliceExpiresAt;
    public DateTimeOffset RenewAt;
    public DateTimeOffset RetryAt;
    public DateTimeOffset LastUsed;

    /// <summary>Requests were drawn since the slice was installed: the flush pass settles their spend by renewing.</summary>
    public bool DrawnSinceInstall;

    /// <summary>The slice is returned when nothing is drawn on it, not renewed (the remainder got too small for slices).</summary>
    public bool Draining;

    /// <summary>The reservation ended (released or expired): nothing more is drawn here, ever.</summary>
    public bool Closed;
    public bool Renewing;
    public long CarryLimit;

    /// <summary>What the slice can still admit. Caller holds <see cref="Gate"/>.</summary>
    public long Free => SliceId is null ? 0 : Math.Max(0, Capacity - Spent - Held);

    /// <summary>The reservation's remainder as this instance sees it: the ledger's outside the slice, plus the slice's unused part. Caller holds <see cref="Gate"/>.</summary>
    public long Remaining => Math.Max(0, LedgerRemaining) + Free;

    public bool RunningLow
    {
        get
        {
            lock (Gate)
            {
                return SliceId is not null && !Draining && !Closed && Free < Capacity / 4;
            }
        }
    }

    /// <summary>Whether nothing is drawn on an active slice that should be returned now (closed or draining). Caller holds <see cref="Gate"/>.</summary>
    public bool ReturnDue => SliceId is not null && Held == 0 && (Closed || Draining);

    /// <summary>Whether the slice can admit a draw of <paramref name="amount"/> for <paramref name="keyId"/> at <paramref name="now"/>. Caller holds <see cref="Gate"/>.</summary>
    public bool Fits(string keyId, long amount, DateTimeOffset now) =>
        SliceId is not null && !Closed && !Draining && KeyId == keyId && now < ExpiresAt && now < SliceExpiresAt
        && Held + Spent + amount <= Capacity
        && (!Renewing || Held + amount <= CarryLimit);

    /// <summary>
    /// Makes <paramref name="sliceId"/> (a draw of <paramref name="capacity"/>) the slice; what is in flight stays held and
    /// moves to it. Returns the old slice and what was spent on it, to be settled. Caller holds <see cref="Gate"/>.
    /// </summary>
    public (string? OldId, long OldCapacity, long OldSpent, long OldSpentTokens) Install(
        string sliceId, long capacity, long ledgerRemaining, ReservationView view, DateTimeOffset now, TimeSpan ttl, TimeSpan renewAfter)
    {
        var old = (SliceId, Capacity, Spent, SpentTokens);
        SliceId = sliceId;
        Capacity = capacity;
        Spent = 0;
        SpentTokens = 0;
        LedgerRemaining = ledgerRemaining;
        KeyId = view.KeyId;
        RootId = view.RootId;
        ExpiresAt = view.ExpiresAt;
        SliceExpiresAt = now + ttl;
        RenewAt = now + renewAfter;
        Draining = false;
        DrawnSinceInstall = false;
        LastUsed = now;
        return old;
    }

    /// <summary>Forgets the slice; returns it and what to settle it at (spent plus what is still drawn, charged in full). Caller holds <see cref="Gate"/>.</summary>
    public (string Id, long Capacity, long Spent, long SpentTokens) Clear()
    {
        var cleared = (SliceId!, Capacity, Spent + Held, SpentTokens + HeldTokens);
        SliceId = null;
        Capacity = 0;
        Spent = 0;
        SpentTokens = 0;
        Draining = false;
        return cleared;
    }

    /// <summary>Broken invariants, for the tests: empty when the slice is sound.</summary>
    public IEnumerable<string> Violations(long maxLease)
    {
        var found = new List<string>();
        lock (Gate)
        {
            if (SliceId is not null && Capacity > maxLease)
            {
                found.Add($"{ReservationId}: a slice of {Capacity} above the maximum {maxLease}");
            }

            if (Held < 0 || HeldTokens < 0)
            {
                found.Add($"{ReservationId}: held {Held} / {HeldTokens} tokens below 0");
            }

            if (Renewing && Held > CarryLimit)
            {
                found.Add($"{ReservationId}: {Held} in flight while renewing to a slice of {CarryLimit}");
            }
        }

        return found;
    }
}
