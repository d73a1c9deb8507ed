using Npgsql;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Postgres.Ledger;

/// <summary>
/// The budget ledger in a PostgreSQL database that several gateway instances share. Each operation is one READ
/// COMMITTED transaction on a pooled connection; a reserve locks every counter of its path with one
/// <c>SELECT … ORDER BY budget_id, window_key FOR UPDATE</c> (creating missing ones first), checks every cap against the
/// locked values, then adds its hold or rolls back, so check and update cannot interleave with any other instance and
/// overlapping paths cannot deadlock (see <see cref="PostgresLedgerSql"/> for the lock order). Safe for concurrent use.
/// Transient database failures surface as <see cref="LedgerUnavailableException"/>.
/// </summary>
public sealed partial class PostgresBudgetLedger : IBudgetLedger
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresBudgetLedger(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public async ValueTask<HoldOutcome> ReserveAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateRequest(request);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await ReserveCoreAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }

    public async ValueTask<SettleOutcome> SettleAsync(string holdId, Money actual, long actualTokens, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateSettle(holdId, actual, actualTokens);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await SettleCoreAsync(holdId, actual.NanoUsd, actualTokens, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }

    public async ValueTask<int> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await ExpireCoreAsync(now, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }

    public async ValueTask<IReadOnlyList<CounterState>> ReadAsync(IReadOnlyList<CounterKey> counters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(counters);
        cancellationToken.ThrowIfCancellationRequested();
        var states = new CounterState[counters.Count];
        if (states.Length == 0)
        {
            return states;
        }

        try
        {
            var (budgets, windows) = Keys(counters);
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(PostgresLedgerSql.ReadCounters, connection);
            command.Parameters.Add(Texts(budgets));
            command.Parameters.Add(Texts(windows));

            // One statement: every counter from the same snapshot. Absent counters stay empty.
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = new CounterKey(reader.GetString(0), reader.GetString(1));
                var state = ReadState(reader);
                for (var i = 0; i < states.Length; i++)
                {
                    if (counters[i] == key)
                    {
                        states[i] = state;
                    }
                }
            }

            return states;
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }

    public async ValueTask<IReadOnlyList<CounterEntry>> ListAsync(string budgetIdPrefix, string windowKey, int limit, CancellationToken cancellationToken)
    {
        LedgerRules.ValidateList(budgetIdPrefix, windowKey, limit);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(PostgresLedgerSql.ListCounters, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = windowKey });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = budgetIdPrefix });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = LedgerRules.PrefixEnd(budgetIdPrefix) });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            var entries = new List<CounterEntry>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(new CounterEntry(new CounterKey(reader.GetString(0), reader.GetString(1)), ReadState(reader)));
            }

            return entries;
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }

    private async Task<HoldOutcome> ReserveCoreAsync(HoldRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // Disposing without Commit rolls back: a denied, duplicate or failed reserve leaves nothing behind.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var outcome = await ReserveInAsync(connection, transaction, request, cancellationToken).ConfigureAwait(false);
        if (outcome.Granted)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    /// <summary>The reserve inside the caller's transaction, which must be rolled back when it is denied.</summary>
    private static async Task<HoldOutcome> ReserveInAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, HoldRequest request, CancellationToken cancellationToken)
    {
        var lines = request.Lines;
        var amount = request.Amount.NanoUsd;
        var tokens = request.Tokens;
        var (budgets, windows) = Keys(lines);
        var before = new CounterState[lines.Count];
        bool inserted;
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Command(PostgresLedgerSql.InsertHold,
                Text(request.HoldId), Int64(amount), Int64(tokens), Int64(CeilingMilliseconds(request.ExpiresAt))));
            batch.BatchCommands.Add(Command(PostgresLedgerSql.EnsureCounters, Texts(budgets), Texts(windows)));
            batch.BatchCommands.Add(Command(PostgresLedgerSql.LockCounters, Texts(budgets), Texts(windows)));

            var found = 0;
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                // The reader is positioned on the last statement's rows; the others report only counts.
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var key = new CounterKey(reader.GetString(0), reader.GetString(1));
                    var state = ReadState(reader);
                    for (var i = 0; i < lines.Count; i++)
                    {
                        if (lines[i].Counter == key)
                        {
                            before[i] = state;
                            found++;
                        }
                    }
                }
            }

            inserted = batch.BatchCommands[0].RecordsAffected == 1;
            if (found != lines.Count)
            {
                throw new InvalidOperationException($"Hold '{request.HoldId}' locked {found} counters for {lines.Count} lines.");
            }
        }

        if (!inserted)
        {
            throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var reason = LedgerRules.Admit(lines[i], before[i], request.Amount, tokens);
            if (reason != DenialReason.None)
            {
                return HoldOutcome.Deny(i, reason, before);
            }
        }

        var after = new CounterState[lines.Count];
        var reserveCount = 0;
        var modes = new short[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            modes[i] = (short)lines[i].Mode;
            if (lines[i].Mode == AccountingMode.Reserve)
            {
                after[i] = before[i] with { Held = before[i].Held + request.Amount, HeldTokens = checked(before[i].HeldTokens + tokens) };
                reserveCount++;
            }
            else
            {
                after[i] = before[i];
            }
        }

        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            if (reserveCount > 0)
            {
                var (reserveBudgets, reserveWindows) = ReserveKeys(lines, reserveCount);
                batch.BatchCommands.Add(Command(PostgresLedgerSql.AddHeld, Texts(reserveBudgets), Texts(reserveWindows), Int64(amount), Int64(tokens)));
            }

            batch.BatchCommands.Add(Command(PostgresLedgerSql.InsertLines,
                Text(request.HoldId), Texts(budgets), Texts(windows), new NpgsqlParameter<short[]> { TypedValue = modes }));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        return HoldOutcome.Grant(after);
    }

    private async Task<SettleOutcome> SettleCoreAsync(string holdId, long actual, long actualTokens, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long amount;
        long tokens;
        short state;
        string? reservationId;
        await using (var command = new NpgsqlCommand(PostgresLedgerSql.LockHold, connection, transaction))
        {
            command.Parameters.Add(Text(holdId));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return SettleOutcome.UnknownHold;
            }

            amount = reader.GetInt64(0);
            tokens = reader.GetInt64(1);
            state = reader.GetInt16(2);
            reservationId = reader.IsDBNull(3) ? null : reader.GetString(3);
        }

        if (reservationId is not null)
        {
            var drawOutcome = await SettleDrawAsync(connection, transaction, holdId, reservationId, amount, tokens, state, actual, actualTokens, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return drawOutcome;
        }

        var settlement = LedgerRules.Settle((HoldPhase)state, amount, tokens, actual, actualTokens);
        if (!settlement.Changes)
        {
            return settlement.Outcome;
        }

        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Command(PostgresLedgerSql.LockHoldCounters, Text(holdId)));
            batch.BatchCommands.Add(Command(PostgresLedgerSql.ApplyHold,
                Text(holdId), Int64(settlement.Spent), Int64(settlement.SpentTokens), Int64(settlement.Release), Int64(settlement.ReleaseTokens)));
            batch.BatchCommands.Add(Command(PostgresLedgerSql.MarkHold,
                Text(holdId), new NpgsqlParameter<short> { TypedValue = (short)settlement.Next }, Int64(actual), Int64(actualTokens)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return settlement.Outcome;
    }

    private async Task<int> ExpireCoreAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        await ExpireDrawsAsync(now, cancellationToken).ConfigureAwait(false) + await ExpireHoldsAsync(now, cancellationToken).ConfigureAwait(false);

    private async Task<int> ExpireHoldsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var expired = new List<string>();
        await using (var command = new NpgsqlCommand(PostgresLedgerSql.MarkExpired, connection, transaction))
        {
            command.Parameters.Add(Int64(now.ToUnixTimeMilliseconds()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                expired.Add(reader.GetString(0));
            }
        }

        if (expired.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }

        var ids = expired.ToArray();
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            batch.BatchCommands.Add(Command(PostgresLedgerSql.LockExpiredCounters, Texts(ids)));
            batch.BatchCommands.Add(Command(PostgresLedgerSql.ChargeExpired, Texts(ids)));
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ids.Length;
    }

    private static (string[] Budgets, string[] Windows) Keys(IReadOnlyList<HoldLine> lines)
    {
        var budgets = new string[lines.Count];
        var windows = new string[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            budgets[i] = lines[i].Counter.BudgetId;
            windows[i] = lines[i].Counter.WindowKey;
        }

        return (budgets, windows);
    }

    private static (string[] Budgets, string[] Windows) Keys(IReadOnlyList<CounterKey> counters)
    {
        var budgets = new string[counters.Count];
        var windows = new string[counters.Count];
        for (var i = 0; i < counters.Count; i++)
        {
            budgets[i] = counters[i].BudgetId;
            windows[i] = counters[i].WindowKey;
        }

        return (budgets, windows);
    }

    private static (string[] Budgets, string[] Windows) ReserveKeys(IReadOnlyList<HoldLine> lines, int count)
    {
        var budgets = new string[count];
        var windows = new string[count];
        var n = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Mode == AccountingMode.Reserve)
            {
                budgets[n] = lines[i].Counter.BudgetId;
                windows[n] = lines[i].Counter.WindowKey;
                n++;
            }
        }

        return (budgets, windows);
    }

    private static CounterState ReadState(NpgsqlDataReader reader) =>
        new(new Money(reader.GetInt64(2)), new Money(reader.GetInt64(3)), reader.GetInt64(4), reader.GetInt64(5));

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter<string> Text(string value) => new() { TypedValue = value };

    private static NpgsqlParameter<string[]> Texts(string[] values) => new() { TypedValue = values };

    private static NpgsqlParameter<long> Int64(long value) => new() { TypedValue = value };

    /// <summary>Expiry is stored in whole milliseconds, rounded up, so a hold is never charged before its time.</summary>
    private static long CeilingMilliseconds(DateTimeOffset instant)
    {
        var ms = instant.ToUnixTimeMilliseconds();
        return instant.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }
}
