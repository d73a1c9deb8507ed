using System.Collections.Concurrent;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// A ledger in front of a shared one (PostgreSQL) that answers most reservations in memory. Per counter it keeps a
/// lease: one hold it took on the inner ledger for a slice of that counter's headroom. A request whose lines are all
/// hard Reserve lines draws its worst case from the leases of all its lines at once (slot locks taken in counter order,
/// all-or-nothing) and settles locally; the lease is renewed (a new hold of one fresh slice that the requests in flight
/// move into, then the old one settled at what was actually spent against it) at half its TTL and when it runs low,
/// and returned when idle. The mechanisms live apart: <see cref="LeaseSlot"/> (one counter's lease, its accounting and
/// invariants), <see cref="LeaseSlotLocks"/> (lock order), <see cref="PendingLeaseSettlements"/> (retried
/// settlements); this file is admission (draw, settle, expire, read), LeasedBudgetLedger.Leases the lease protocol
/// (acquire, renew, retire), LeasedBudgetLedger.Flush the background flush and shutdown, LeasedBudgetLedger.Reservations
/// the slices of reservations.
/// Why the cap holds: every lease is a hold the inner ledger admitted atomically against the cap, and local draws
/// never exceed their lease; so spent + held in the shared counter is never below what this instance committed.
/// Anything else passes straight through as a per-request hold: post-hoc and soft lines, a request whose lease cannot
/// take it, and every request on a counter whose headroom is below a few worst cases (near the cap the behaviour is the
/// inner ledger's, exactly). <see cref="ReadAsync"/> reports this instance's own leases as what is spent and in flight
/// on them (their unused part is its own headroom: a single instance reads exactly), other instances' leases as held.
/// It does no I/O of its own. Safe for concurrent use.
/// </summary>
public sealed partial class LeasedBudgetLedger : IBudgetLedger, IAsyncDisposable
{
    private readonly IBudgetLedger _inner;
    private readonly LeaseOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<CounterKey, LeaseSlot> _slots = new();
    private readonly ConcurrentDictionary<string, LocalHold> _holds = new(StringComparer.Ordinal);

    // Settled holds leave _holds at once, so the expiry and flush passes walk only live holds (a few per connection)
    // instead of every hold settled within the retention (measured: at 13k requests/s that walk was a full-heap burst
    // every second). Their ids stay here, in settlement order, so a repeated settle is still answered AlreadySettled.
    private readonly ConcurrentDictionary<string, byte> _settled = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Id, DateTimeOffset At)> _settledOrder = new();
    private readonly PendingLeaseSettlements _pending = new();
    private readonly ConcurrentDictionary<long, Task> _background = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<Exception>? _onError;
    private readonly Lock _loopGate = new();
    private Task? _loop;
    private long _sequence;
    private long _leaseOperations;
    private int _disposed;

    /// <param name="onError">Hears a flush pass that failed other than by an outage (the loop goes on at its next turn).</param>
    public LeasedBudgetLedger(IBudgetLedger inner, LeaseOptions options, TimeProvider time, Action<Exception>? onError = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Divisor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PassThroughWorstCases, 1);
        _inner = inner;
        _options = options;
        _time = time;
        _onError = onError;
    }

    /// <summary>Calls this decorator made on the inner ledger for its leases (reads, lease holds, lease settlements).</summary>
    public long LeaseOperations => Interlocked.Read(ref _leaseOperations);

    /// <summary>Counters with a lease right now.</summary>
    public int ActiveLeases
    {
        get
        {
            var n = 0;
            foreach (var slot in _slots.Values)
            {
                lock (slot.Gate)
                {
                    n += slot.LeaseId is null ? 0 : 1;
                }
            }

            return n;
        }
    }

    /// <summary>Completes when the background renewals started so far have finished (tests observe a quiet state).</summary>
    internal Task WhenIdleAsync() => Task.WhenAll(_background.Values);

    /// <summary>Broken slot invariants (<see cref="LeaseSlot"/>), for the tests: empty when every slot is sound.</summary>
    internal IEnumerable<string> Violations() =>
        _slots.Values.SelectMany(slot => slot.Violations(_options.MaxLease.NanoUsd))
            .Concat(_slices.Values.SelectMany(slice => slice.Violations(_options.MaxLease.NanoUsd))).ToList();

    public async ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateRequest(request);
        cancellationToken.ThrowIfCancellationRequested();
        if (_holds.ContainsKey(request.HoldId) || _settled.ContainsKey(request.HoldId))
        {
            throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
        }

        var lines = request.Lines;
        if (lines.Count == 0 || !Leasable(lines))
        {
            return await _inner.ReserveAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var slots = new LeaseSlot[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            slots[i] = _slots.GetOrAdd(lines[i].Counter, static key => new LeaseSlot(key));
            var slot = slots[i];
            bool needsLease;
            lock (slot.Gate)
            {
                needsLease = slot.LeaseId is null && now >= slot.RetryAt;
            }

            // The first request on a counter takes its lease inline (once); later renewals happen in the background.
            if (needsLease && Interlocked.CompareExchange(ref slot.Busy, 1, 0) == 0)
            {
                try
                {
                    long worst;
                    long worstTokens;
                    lock (slot.Gate)
                    {
                        worst = Math.Max(slot.LastAmount, request.Amount.NanoUsd);
                        worstTokens = Math.Max(slot.LastTokens, request.Tokens);
                    }

                    await AcquireAsync(slot, lines[i], worst, worstTokens, cancellationToken).ConfigureAwait(false);
                }
                catch (LedgerUnavailableException)
                {
                    // The pass-through below meets the same outage and reports it.
                }
                finally
                {
                    Volatile.Write(ref slot.Busy, 0);
                }
            }
        }

        var order = LeaseSlotLocks.Order(slots);
        var states = new CounterState[lines.Count];
        var refusedBy = TryDraw(request, slots, order, now, states);
        var granted = refusedBy < 0;
        for (var i = 0; i < slots.Length; i++)
        {
            // Only the line whose lease could not take the request, and lines running low, are renewed: renewing a line
            // with room left would only move its lease, not help this request.
            if (i == refusedBy || slots[i].RunningLow)
            {
                RenewInBackground(slots[i]);
            }
        }

        if (granted)
        {
            return HoldOutcome.Grant(states);
        }

        return await PassThroughAsync(request, slots, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateSettle(holdId, actual, actualTokens);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_holds.TryGetValue(holdId, out var hold))
        {
            if (_draws.TryGetValue(holdId, out var draw))
            {
                return SettleDrawAsync(holdId, draw, actual.NanoUsd, actualTokens);
            }

            return _settled.ContainsKey(holdId)
                ? ValueTask.FromResult(SettleOutcome.AlreadySettled)
                : _inner.SettleAsync(holdId, actual, actualTokens, cancellationToken);
        }

        var outcome = SettleLocal(hold, actual.NanoUsd, actualTokens);
        if (outcome is SettleOutcome.Settled or SettleOutcome.CorrectedAfterExpiry)
        {
            // Remembered before it is forgotten, so a concurrent repeat finds it in one place or the other.
            _settled[holdId] = 0;
            _settledOrder.Enqueue((holdId, hold.SettledAt));
            _holds.TryRemove(holdId, out _);
        }

        return ValueTask.FromResult(outcome);
    }

    public async ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var expired = ExpireLocalDraws(now);
        foreach (var hold in _holds.Values)
        {
            if (hold.ExpiresAt > now)
            {
                continue;
            }

            LeaseSlotLocks.Enter(hold.Slots, hold.Order);
            try
            {
                if (hold.State != LocalHoldState.Held)
                {
                    continue;
                }

                // Charged in full on the lease, exactly as the inner ledger charges an expired hold.
                for (var i = 0; i < hold.Slots.Length; i++)
                {
                    var slot = hold.Slots[i];
                    slot.Held -= hold.Amount;
                    slot.HeldTokens -= hold.Tokens;
                    slot.Spent += hold.Amount;
                    slot.SpentTokens += hold.Tokens;
                }

                hold.State = LocalHoldState.Expired;
                expired++;
            }
            finally
            {
                LeaseSlotLocks.Exit(hold.Slots, hold.Order);
            }
        }

        return expired + await _inner.ExpireAsync(now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The inner ledger's listing, each counter viewed as <see cref="ReadAsync"/> does (this instance's unused lease parts not held).</summary>
    public async ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        var inner = await _inner.ListAsync(budgetIdPrefix, windowKey, limit, cancellationToken).ConfigureAwait(false);
        var entries = new CounterEntry[inner.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = inner[i];
            entries[i] = _slots.TryGetValue(entry.Counter, out var slot) ? entry with { State = slot.View(entry.State) } : entry;
        }

        Array.Sort(entries, LedgerRules.ListOrder);
        return entries;
    }

    public async ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var inner = await _inner.ReadAsync(counters, cancellationToken).ConfigureAwait(false);
        var states = new CounterState[inner.Count];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = _slots.TryGetValue(counters[i], out var slot) ? slot.View(inner[i]) : inner[i];
        }

        return states;
    }

    private static bool Leasable(IReadOnlyList<HoldLine> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            // A rolling window's bucket is checked against a cap that changes with every request (the cap less what the
            // earlier buckets hold): it goes to the inner ledger, which checks it exactly.
            if (lines[i].Mode != AccountingMode.Reserve || lines[i].Enforcement != Enforcement.Hard || BudgetWindows.IsRollingKey(lines[i].Counter.WindowKey))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Draws the request on all its leases, or on none; returns -1 when drawn, else the index of the first line that refused.</summary>
    private int TryDraw(HoldRequest request, LeaseSlot[] slots, int[] order, DateTimeOffset now, CounterState[] states)
    {
        var amount = request.Amount.NanoUsd;
        var tokens = request.Tokens;
        LeaseSlotLocks.Enter(slots, order);
        try
        {
            // Every line learns the request's worst case, also those after a refusing one: a lease is sized against it.
            for (var i = 0; i < slots.Length; i++)
            {
                var slot = slots[i];
                slot.LastUsed = now;
                slot.LastAmount = Math.Max(slot.LastAmount, amount);
                slot.LastTokens = Math.Max(slot.LastTokens, tokens);
            }

            for (var i = 0; i < slots.Length; i++)
            {
                var slot = slots[i];
                var line = request.Lines[i];
                if (!slot.Fits(line, amount, tokens, now))
                {
                    return i;
                }
            }

            for (var i = 0; i < slots.Length; i++)
            {
                var slot = slots[i];
                slot.Held += amount;
                slot.HeldTokens += tokens;
                states[i] = slot.ViewLocked();
            }

            _holds[request.HoldId] = new LocalHold(slots, order, amount, tokens, request.ExpiresAt);
            return -1;
        }
        finally
        {
            LeaseSlotLocks.Exit(slots, order);
        }
    }

    private SettleOutcome SettleLocal(LocalHold hold, long actual, long actualTokens)
    {
        LeaseSlotLocks.Enter(hold.Slots, hold.Order);
        try
        {
            switch (hold.State)
            {
                case LocalHoldState.Held:
                    for (var i = 0; i < hold.Slots.Length; i++)
                    {
                        var slot = hold.Slots[i];
                        slot.Held -= hold.Amount;
                        slot.HeldTokens -= hold.Tokens;
                        slot.Spent += actual;
                        slot.SpentTokens += actualTokens;
                    }

                    hold.State = LocalHoldState.Settled;
                    hold.SettledAt = _time.GetUtcNow();
                    return SettleOutcome.Settled;

                case LocalHoldState.Expired:
                    // The full charge sits in the current lease unless it was settled since: then it stays charged in
                    // full (never under-counted) rather than corrupting the next lease's spend.
                    var current = true;
                    for (var i = 0; i < hold.Slots.Length; i++)
                    {
                        current &= hold.Slots[i].Spent + actual - hold.Amount >= 0 && hold.Slots[i].LeaseId is not null;
                    }

                    if (current)
                    {
                        for (var i = 0; i < hold.Slots.Length; i++)
                        {
                            hold.Slots[i].Spent += actual - hold.Amount;
                            hold.Slots[i].SpentTokens = Math.Max(0, hold.Slots[i].SpentTokens + actualTokens - hold.Tokens);
                        }
                    }

                    hold.State = LocalHoldState.Corrected;
                    hold.SettledAt = _time.GetUtcNow();
                    return SettleOutcome.CorrectedAfterExpiry;

                default:
                    return SettleOutcome.AlreadySettled;
            }
        }
        finally
        {
            LeaseSlotLocks.Exit(hold.Slots, hold.Order);
        }
    }
}
