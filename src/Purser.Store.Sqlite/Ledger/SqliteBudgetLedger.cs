using Microsoft.Data.Sqlite;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Ledger;

/// <summary>
/// The budget ledger in the Purser database file. Every operation is one <c>BEGIN IMMEDIATE</c> transaction, so the
/// cap check and the update it guards happen under SQLite's write lock: processes sharing the file cannot interleave
/// between them. Within the process, one dedicated connection and its prepared statements are used by one operation at
/// a time. Hold expiry is stored in whole milliseconds, rounded up, so a hold is never charged before its time.
/// </summary>
public sealed partial class SqliteBudgetLedger : IBudgetLedger, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteConnection _connection;
    private readonly List<SqliteCommand> _commands = [];

    private readonly SqliteCommand _insertHold;
    private readonly SqliteParameter _insertHoldId;
    private readonly SqliteParameter _insertHoldAmount;
    private readonly SqliteParameter _insertHoldTokens;
    private readonly SqliteParameter _insertHoldExpires;

    private readonly SqliteCommand _chargeLine;
    private readonly SqliteParameter _chargeBudget;
    private readonly SqliteParameter _chargeWindow;
    private readonly SqliteParameter _chargeHeld;
    private readonly SqliteParameter _chargeHeldTokens;

    private readonly SqliteCommand _readCounter;
    private readonly SqliteParameter _readBudget;
    private readonly SqliteParameter _readWindow;

    private readonly SqliteCommand _insertLine;
    private readonly SqliteParameter _lineHoldId;
    private readonly SqliteParameter _lineNo;
    private readonly SqliteParameter _lineBudget;
    private readonly SqliteParameter _lineWindow;
    private readonly SqliteParameter _lineMode;

    private readonly SqliteCommand _findHold;
    private readonly SqliteParameter _findHoldId;

    private readonly SqliteCommand _applyHold;
    private readonly SqliteParameter _applyHoldId;
    private readonly SqliteParameter _applySpent;
    private readonly SqliteParameter _applySpentTokens;
    private readonly SqliteParameter _applyRelease;
    private readonly SqliteParameter _applyReleaseTokens;

    private readonly SqliteCommand _markHold;
    private readonly SqliteParameter _markHoldId;
    private readonly SqliteParameter _markState;
    private readonly SqliteParameter _markActual;
    private readonly SqliteParameter _markActualTokens;

    private readonly SqliteCommand _chargeExpired;
    private readonly SqliteParameter _chargeExpiredNow;
    private readonly SqliteCommand _markExpired;
    private readonly SqliteParameter _markExpiredNow;

    private bool _disposed;

    public SqliteBudgetLedger(SqliteDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _connection = db.OpenConnection();
        try
        {
            _insertHold = Command(LedgerSql.InsertHold);
            _insertHoldId = Add(_insertHold, "$hold_id", SqliteType.Text);
            _insertHoldAmount = Add(_insertHold, "$amount_nano", SqliteType.Integer);
            _insertHoldTokens = Add(_insertHold, "$tokens", SqliteType.Integer);
            _insertHoldExpires = Add(_insertHold, "$expires_at_ms", SqliteType.Integer);

            _chargeLine = Command(LedgerSql.ChargeLine);
            _chargeBudget = Add(_chargeLine, "$budget_id", SqliteType.Text);
            _chargeWindow = Add(_chargeLine, "$window_key", SqliteType.Text);
            _chargeHeld = Add(_chargeLine, "$held_nano", SqliteType.Integer);
            _chargeHeldTokens = Add(_chargeLine, "$held_tokens", SqliteType.Integer);

            _readCounter = Command(LedgerSql.ReadCounter);
            _readBudget = Add(_readCounter, "$budget_id", SqliteType.Text);
            _readWindow = Add(_readCounter, "$window_key", SqliteType.Text);

            _insertLine = Command(LedgerSql.InsertLine);
            _lineHoldId = Add(_insertLine, "$hold_id", SqliteType.Text);
            _lineNo = Add(_insertLine, "$line_no", SqliteType.Integer);
            _lineBudget = Add(_insertLine, "$budget_id", SqliteType.Text);
            _lineWindow = Add(_insertLine, "$window_key", SqliteType.Text);
            _lineMode = Add(_insertLine, "$mode", SqliteType.Integer);

            _findHold = Command(LedgerSql.FindHold);
            _findHoldId = Add(_findHold, "$hold_id", SqliteType.Text);

            _applyHold = Command(LedgerSql.ApplyHold);
            _applyHoldId = Add(_applyHold, "$hold_id", SqliteType.Text);
            _applySpent = Add(_applyHold, "$spent_nano", SqliteType.Integer);
            _applySpentTokens = Add(_applyHold, "$spent_tokens", SqliteType.Integer);
            _applyRelease = Add(_applyHold, "$release_nano", SqliteType.Integer);
            _applyReleaseTokens = Add(_applyHold, "$release_tokens", SqliteType.Integer);

            _markHold = Command(LedgerSql.MarkHold);
            _markHoldId = Add(_markHold, "$hold_id", SqliteType.Text);
            _markState = Add(_markHold, "$state", SqliteType.Integer);
            _markActual = Add(_markHold, "$actual_nano", SqliteType.Integer);
            _markActualTokens = Add(_markHold, "$actual_tokens", SqliteType.Integer);

            _chargeExpired = Command(LedgerSql.ChargeExpired);
            _chargeExpiredNow = Add(_chargeExpired, "$now_ms", SqliteType.Integer);
            _markExpired = Command(LedgerSql.MarkExpired);
            _markExpiredNow = Add(_markExpired, "$now_ms", SqliteType.Integer);

            foreach (var command in _commands)
            {
                command.Prepare();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public async ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateRequest(request);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Reserve(request);
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateSettle(holdId, actual, actualTokens);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return Settle(holdId, actual.NanoUsd, actualTokens);
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = Begin(deferred: false);
            var draws = ExpireDraws(now);
            _chargeExpiredNow.Value = now.ToUnixTimeMilliseconds();
            _chargeExpired.ExecuteNonQuery();
            _markExpiredNow.Value = now.ToUnixTimeMilliseconds();
            var expired = _markExpired.ExecuteNonQuery();
            transaction.Commit();
            return expired + draws;
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);
        var states = new CounterState[counters.Count];
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // A read transaction gives every counter from the same snapshot.
            using var transaction = Begin(deferred: true);
            for (var i = 0; i < states.Length; i++)
            {
                states[i] = ReadCounter(counters[i]);
            }

            transaction.Commit();
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
        finally
        {
            _gate.Release();
        }

        return states;
    }

    public async ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateList(budgetIdPrefix, windowKey, limit);
        var entries = new List<CounterEntry>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // Listing is rare (the admin API, a new end user): an unprepared command outside the reused set.
            using var command = _connection.CreateCommand();
            command.CommandText = LedgerSql.ListCounters;
            command.Parameters.AddWithValue("$window_key", windowKey);
            command.Parameters.AddWithValue("$prefix", budgetIdPrefix);
            command.Parameters.AddWithValue("$prefix_end", LedgerRules.PrefixEnd(budgetIdPrefix));
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var state = new CounterState(new Money(reader.GetInt64(1)), new Money(reader.GetInt64(2)), reader.GetInt64(3), reader.GetInt64(4));
                entries.Add(new CounterEntry(new CounterKey(reader.GetString(0), windowKey), state));
            }
        }
        catch (SqliteException e) when (SqliteErrors.IsUnavailable(e))
        {
            throw SqliteErrors.Wrap(e);
        }
        finally
        {
            _gate.Release();
        }

        return entries;
    }

    /// <summary>
    /// Waits for the operation in flight, then closes the connection; later calls throw
    /// <see cref="ObjectDisposedException"/>. The semaphore is left to the GC so that late callers fail cleanly.
    /// </summary>
    public void Dispose()
    {
        _gate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var command in _commands)
            {
                command.Dispose();
            }

            _connection.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    private HoldOutcome Reserve(HoldRequest request)
    {
        // Disposing without Commit rolls back: a denied or failed reserve leaves nothing behind.
        using var transaction = Begin(deferred: false);
        var outcome = ReserveIn(request);
        if (outcome.Granted)
        {
            transaction.Commit();
        }

        return outcome;
    }

    /// <summary>The reserve inside the caller's transaction, which must be rolled back when it is denied.</summary>
    private HoldOutcome ReserveIn(HoldRequest request)
    {
        var lines = request.Lines;
        var amount = request.Amount.NanoUsd;
        var tokens = request.Tokens;
        var states = new CounterState[lines.Count];
        _insertHoldId.Value = request.HoldId;
        _insertHoldAmount.Value = amount;
        _insertHoldTokens.Value = tokens;
        _insertHoldExpires.Value = CeilingMilliseconds(request.ExpiresAt);
        if (_insertHold.ExecuteNonQuery() == 0)
        {
            throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            var reserves = line.Mode == AccountingMode.Reserve;
            var after = ChargeLine(line.Counter, reserves ? amount : 0, reserves ? tokens : 0);
            var before = reserves
                ? after with { Held = after.Held - request.Amount, HeldTokens = after.HeldTokens - tokens }
                : after;
            var reason = LedgerRules.Admit(line, before, request.Amount, tokens);
            if (reason != DenialReason.None)
            {
                DenialStates(lines, i, amount, tokens, states, before);
                return HoldOutcome.Deny(i, reason, states);
            }

            states[i] = after;
        }

        _lineHoldId.Value = request.HoldId;
        for (var i = 0; i < lines.Count; i++)
        {
            _lineNo.Value = i;
            _lineBudget.Value = lines[i].Counter.BudgetId;
            _lineWindow.Value = lines[i].Counter.WindowKey;
            _lineMode.Value = (int)lines[i].Mode;
            _insertLine.ExecuteNonQuery();
        }

        return HoldOutcome.Grant(states);
    }

    /// <summary>
    /// Every line's state as it was before this reserve: the lines already charged have their hold taken back out,
    /// the denied one is <paramref name="denied"/>, and the ones after are read (still inside the transaction).
    /// </summary>
    private void DenialStates(IReadOnlyList<HoldLine> lines, int deniedLine, long amount, long tokens, CounterState[] states, CounterState denied)
    {
        for (var i = 0; i < deniedLine; i++)
        {
            if (lines[i].Mode == AccountingMode.Reserve)
            {
                states[i] = states[i] with { Held = states[i].Held - new Money(amount), HeldTokens = states[i].HeldTokens - tokens };
            }
        }

        states[deniedLine] = denied;
        for (var i = deniedLine + 1; i < lines.Count; i++)
        {
            states[i] = ReadCounter(lines[i].Counter);
        }
    }

    private SettleOutcome Settle(string holdId, long actual, long actualTokens)
    {
        using var transaction = Begin(deferred: false);
        _findHoldId.Value = holdId;
        long amount;
        long tokens;
        long state;
        string? reservationId;
        using (var reader = _findHold.ExecuteReader())
        {
            if (!reader.Read())
            {
                return SettleOutcome.UnknownHold;
            }

            amount = reader.GetInt64(0);
            tokens = reader.GetInt64(1);
            state = reader.GetInt64(2);
            reservationId = reader.IsDBNull(3) ? null : reader.GetString(3);
        }

        if (reservationId is not null)
        {
            var drawOutcome = SettleDraw(holdId, reservationId, amount, tokens, state, actual, actualTokens);
            transaction.Commit();
            return drawOutcome;
        }

        var settlement = LedgerRules.Settle((HoldPhase)state, amount, tokens, actual, actualTokens);
        if (!settlement.Changes)
        {
            return settlement.Outcome;
        }

        ApplyHold(holdId, settlement.Spent, settlement.SpentTokens, settlement.Release, settlement.ReleaseTokens);
        _markHoldId.Value = holdId;
        _markState.Value = (long)settlement.Next;
        _markActual.Value = actual;
        _markActualTokens.Value = actualTokens;
        _markHold.ExecuteNonQuery();
        transaction.Commit();
        return settlement.Outcome;
    }

    private void ApplyHold(string holdId, long spent, long spentTokens, long release, long releaseTokens)
    {
        _applyHoldId.Value = holdId;
        _applySpent.Value = spent;
        _applySpentTokens.Value = spentTokens;
        _applyRelease.Value = release;
        _applyReleaseTokens.Value = releaseTokens;
        _applyHold.ExecuteNonQuery();
    }

    private CounterState ChargeLine(CounterKey counter, long held, long heldTokens)
    {
        _chargeBudget.Value = counter.BudgetId;
        _chargeWindow.Value = counter.WindowKey;
        _chargeHeld.Value = held;
        _chargeHeldTokens.Value = heldTokens;
        using var reader = _chargeLine.ExecuteReader();
        if (!reader.Read())
        {
            throw new InvalidOperationException("An upsert with RETURNING returned no row.");
        }

        return ReadState(reader);
    }

    private CounterState ReadCounter(CounterKey counter)
    {
        _readBudget.Value = counter.BudgetId;
        _readWindow.Value = counter.WindowKey;
        using var reader = _readCounter.ExecuteReader();
        return reader.Read() ? ReadState(reader) : CounterState.Empty;
    }

    private static CounterState ReadState(SqliteDataReader reader) =>
        new(new Money(reader.GetInt64(0)), new Money(reader.GetInt64(1)), reader.GetInt64(2), reader.GetInt64(3));

    /// <summary>
    /// Starts a transaction and enlists every prepared command in it (Microsoft.Data.Sqlite requires a command's
    /// transaction to be the connection's current one). Not deferred means <c>BEGIN IMMEDIATE</c>: the write lock is
    /// taken before the first read, so no other connection can change a counter between our check and our update.
    /// </summary>
    private SqliteTransaction Begin(bool deferred)
    {
        var transaction = _connection.BeginTransaction(deferred);
        foreach (var command in _commands)
        {
            command.Transaction = transaction;
        }

        return transaction;
    }

    private static long CeilingMilliseconds(DateTimeOffset instant)
    {
        var ms = instant.ToUnixTimeMilliseconds();
        return instant.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }

    private SqliteCommand Command(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        _commands.Add(command);
        return command;
    }

    private static SqliteParameter Add(SqliteCommand command, string name, SqliteType type)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.SqliteType = type;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
