using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>
/// The reference <see cref="IBudgetLedger"/>: counters and holds in dictionaries behind one lock. It is the executable
/// specification the durable stores are tested against, and the ledger for tests of components that use one. Holds are
/// kept after settlement (so settlement stays idempotent), so memory grows with the number of holds ever taken.
/// </summary>
public sealed partial class InMemoryBudgetLedger : IBudgetLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<CounterKey, Counter> _counters = [];
    private readonly Dictionary<string, Hold> _holds = new(StringComparer.Ordinal);

    // Unsettled holds by expiry, so expiry visits only what is due; settled entries are skipped when they surface.
    private readonly PriorityQueue<Hold, DateTimeOffset> _byExpiry = new();

    public ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateRequest(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(ReserveLocked(request, expires: true));
        }
    }

    /// <summary>The reserve rule under the lock; a hold that does not expire is a reservation's hold on its lines.</summary>
    private HoldOutcome ReserveLocked(HoldRequest request, bool expires)
    {
        var lines = request.Lines;
        var states = new CounterState[lines.Count];
        {
            if (_holds.ContainsKey(request.HoldId) || _draws.ContainsKey(request.HoldId))
            {
                throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
            }

            var counters = new Counter[lines.Count];
            for (var i = 0; i < lines.Count; i++)
            {
                counters[i] = CounterFor(lines[i].Counter);
                states[i] = counters[i].State;
            }

            for (var i = 0; i < lines.Count; i++)
            {
                var reason = LedgerRules.Admit(lines[i], states[i], request.Amount, request.Tokens);
                if (reason != DenialReason.None)
                {
                    return HoldOutcome.Deny(i, reason, states);
                }
            }

            var modes = new AccountingMode[lines.Count];
            for (var i = 0; i < lines.Count; i++)
            {
                modes[i] = lines[i].Mode;
                if (modes[i] == AccountingMode.Reserve)
                {
                    counters[i].Held = checked(counters[i].Held + request.Amount.NanoUsd);
                    counters[i].HeldTokens = checked(counters[i].HeldTokens + request.Tokens);
                }

                states[i] = counters[i].State;
            }

            var hold = new Hold(counters, modes, request.Amount.NanoUsd, request.Tokens);
            _holds.Add(request.HoldId, hold);
            if (expires)
            {
                _byExpiry.Enqueue(hold, request.ExpiresAt);
            }
        }

        return HoldOutcome.Grant(states);
    }

    public ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateSettle(holdId, actual, actualTokens);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_draws.TryGetValue(holdId, out var draw))
            {
                return ValueTask.FromResult(SettleDrawLocked(draw, actual.NanoUsd, actualTokens));
            }

            if (!_holds.TryGetValue(holdId, out var hold))
            {
                return ValueTask.FromResult(SettleOutcome.UnknownHold);
            }

            var settlement = LedgerRules.Settle(hold.State, hold.Amount, hold.Tokens, actual.NanoUsd, actualTokens);
            if (settlement.Changes)
            {
                hold.Apply(settlement.Spent, settlement.SpentTokens, releaseHold: settlement.Outcome == SettleOutcome.Settled);
                hold.State = settlement.Next;
            }

            return ValueTask.FromResult(settlement.Outcome);
        }
    }

    public ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var expired = 0;
        lock (_gate)
        {
            while (_byExpiry.TryPeek(out var hold, out var expiresAt) && expiresAt <= now)
            {
                _byExpiry.Dequeue();
                if (hold.State != HoldPhase.Held)
                {
                    continue;
                }

                hold.Apply(hold.Amount, hold.Tokens, releaseHold: true);
                hold.State = HoldPhase.Expired;
                expired++;
            }

            expired += ExpireDrawsLocked(now);
        }

        return ValueTask.FromResult(expired);
    }

    public ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);
        cancellationToken.ThrowIfCancellationRequested();
        var states = new CounterState[counters.Count];
        lock (_gate)
        {
            for (var i = 0; i < states.Length; i++)
            {
                states[i] = _counters.TryGetValue(counters[i], out var counter) ? counter.State : CounterState.Empty;
            }
        }

        return ValueTask.FromResult<IReadOnlyList<CounterState>>(states);
    }

    private Counter CounterFor(CounterKey key)
    {
        if (!_counters.TryGetValue(key, out var counter))
        {
            // Created on first sight even if the hold is denied: an empty counter reads the same as a missing one.
            counter = new Counter();
            _counters.Add(key, counter);
        }

        return counter;
    }

    public ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateList(budgetIdPrefix, windowKey, limit);
        cancellationToken.ThrowIfCancellationRequested();
        var entries = new List<CounterEntry>();
        lock (_gate)
        {
            foreach (var (key, counter) in _counters)
            {
                if (string.Equals(key.WindowKey, windowKey, StringComparison.Ordinal) && key.BudgetId.StartsWith(budgetIdPrefix, StringComparison.Ordinal))
                {
                    entries.Add(new CounterEntry(key, counter.State));
                }
            }
        }

        entries.Sort(LedgerRules.ListOrder);
        if (entries.Count > limit)
        {
            entries.RemoveRange(limit, entries.Count - limit);
        }

        return ValueTask.FromResult<IReadOnlyList<CounterEntry>>(entries);
    }

    private sealed class Counter
    {
        public long Spent;
        public long Held;
        public long SpentTokens;
        public long HeldTokens;

        public CounterState State => new(new Money(Spent), new Money(Held), SpentTokens, HeldTokens);
    }

    private sealed class Hold
    {
        private readonly Counter[] _counters;
        private readonly AccountingMode[] _modes;

        public Hold(Counter[] counters, AccountingMode[] modes, long amount, long tokens)
        {
            _counters = counters;
            _modes = modes;
            Amount = amount;
            Tokens = tokens;
        }

        public long Amount { get; }

        public long Tokens { get; }

        public HoldPhase State { get; set; }

        /// <summary>Applies a reservation's change to its lines: spent on every line, held on the Reserve lines.</summary>
        public void Apply(Reservations.CounterDelta delta)
        {
            for (var i = 0; i < _counters.Length; i++)
            {
                var counter = _counters[i];
                counter.Spent = checked(counter.Spent + delta.Spent);
                counter.SpentTokens = checked(counter.SpentTokens + delta.SpentTokens);
                if (_modes[i] == AccountingMode.Reserve)
                {
                    counter.Held = checked(counter.Held - delta.Release);
                }
            }
        }

        /// <summary>Adds to spent on every line and, when releasing, removes the hold from the Reserve lines.</summary>
        public void Apply(long spent, long spentTokens, bool releaseHold)
        {
            for (var i = 0; i < _counters.Length; i++)
            {
                var counter = _counters[i];
                counter.Spent = checked(counter.Spent + spent);
                counter.SpentTokens = checked(counter.SpentTokens + spentTokens);
                if (releaseHold && _modes[i] == AccountingMode.Reserve)
                {
                    counter.Held = checked(counter.Held - Amount);
                    counter.HeldTokens = checked(counter.HeldTokens - Tokens);
                }
            }
        }
    }
}
