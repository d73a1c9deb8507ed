using System.Collections.Concurrent;
using System.Globalization;
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
/// settlements); this type is the lease protocol (acquire, renew, retire) and the background flush.
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
    private readonly Task? _loop;
    private long _sequence;
    private long _leaseOperations;
    private int _disposed;

    public LeasedBudgetLedger(IBudgetLedger inner, LeaseOptions options, TimeProvider time, bool runFlushLoop = true)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Divisor, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PassThroughWorstCases, 1);
        _inner = inner;
        _options = options;
        _time = time;
        if (runFlushLoop)
        {
            _loop = Task.Run(RunAsync);
        }
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
    internal IEnumerable<string> Violations() => _slots.Values.SelectMany(slot => slot.Violations(_options.MaxLease.NanoUsd)).ToList();

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
        var expired = 0;
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

    /// <summary>
    /// One flush pass: retries failed lease settlements, renews leases at half their TTL, returns idle ones and forgets
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
    }

    /// <summary>Returns every lease: settled at what was spent, plus what is still drawn (charged in full: never under-counted).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

        // A last try; what still fails expires charged in full (never under-counted), so nothing here may stop the shutdown.
        var retry = _pending.RetryAsync(_inner, CancellationToken.None);
        await ((Task)retry).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (retry.IsCompletedSuccessfully)
        {
            Interlocked.Add(ref _leaseOperations, await retry.ConfigureAwait(false));
        }

        _stop.Dispose();
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
                // Next pass.
            }
        }
    }
}
