using Npgsql;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Store.Postgres.Ledger;

/// <summary>
/// Reservations shared by every instance. Each operation is one transaction that locks the tree's row
/// (<c>FOR UPDATE</c>), applies <see cref="ReservationTree"/>'s rule, writes the tree back and charges the root's lines
/// through its hold. Lock order extends the ledger's: a hold row (settle, expiry), then a tree row, then counter rows;
/// a new root takes its counters before its tree row exists, so nobody can wait on it.
/// </summary>
public sealed partial class PostgresBudgetLedger : IReservationLedger
{
    private const string LockTreeOf =
        """
        SELECT t.tree FROM ledger_reservations AS r JOIN ledger_reservation_trees AS t ON t.root_id = r.root_id
        WHERE r.reservation_id = $1 FOR UPDATE OF t
        """;

    public ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        return RunAsync(async (connection, transaction) =>
        {
            ReservationOutcome outcome;
            ReservationTree tree;
            if (request.ParentId is { } parentId)
            {
                if (await LoadTreeAsync(connection, transaction, parentId, cancellationToken).ConfigureAwait(false) is not { } parentTree)
                {
                    return ReservationOutcome.Of(ReservationStatus.Unknown);
                }

                tree = parentTree;
                outcome = tree.TryAddChild(request);
                if (outcome.Status != ReservationStatus.Done)
                {
                    return outcome;
                }
            }
            else
            {
                var held = await ReserveInAsync(connection, transaction, ReservationRules.RootHold(request), cancellationToken).ConfigureAwait(false);
                if (!held.Granted)
                {
                    return new ReservationOutcome(ReservationStatus.DoesNotFit, null, held, Money.Zero);
                }

                tree = ReservationTree.NewRoot(request);
                outcome = new ReservationOutcome(ReservationStatus.Done, tree.View(tree.Root), held, request.Amount);
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO ledger_reservation_trees (root_id, key_id, created_at_ms, next_expiry_ms, live, tree) VALUES ($1, $2, $3, NULL, true, '')",
                    cancellationToken, Text(request.Id), Text(request.KeyId), Int64(request.Now.ToUnixTimeMilliseconds())).ConfigureAwait(false);
            }

            var inserted = await ExecuteAsync(connection, transaction,
                "INSERT INTO ledger_reservations (reservation_id, root_id) VALUES ($1, $2) ON CONFLICT (reservation_id) DO NOTHING",
                cancellationToken, Text(request.Id), Text(tree.Root.Id)).ConfigureAwait(false);
            if (inserted == 0)
            {
                throw new InvalidOperationException($"A reservation with id '{request.Id}' exists; reservation ids must be unique.");
            }

            await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return outcome;
        }, cancellationToken);
    }

    public ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        return RunAsync(async (connection, transaction) =>
        {
            if (await LoadTreeAsync(connection, transaction, request.ReservationId, cancellationToken).ConfigureAwait(false) is not { } tree)
            {
                return new DrawOutcome(ReservationStatus.Unknown, Money.Zero);
            }

            var outcome = tree.TryDraw(request.ReservationId, request.KeyId, request.Amount.NanoUsd, request.Now);
            if (outcome.Status != ReservationStatus.Done)
            {
                return outcome;
            }

            var inserted = await ExecuteAsync(connection, transaction,
                """
                INSERT INTO ledger_holds (hold_id, amount_nano, tokens, expires_at_ms, state, reservation_id)
                VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (hold_id) DO NOTHING
                """,
                cancellationToken, Text(request.HoldId), Int64(request.Amount.NanoUsd), Int64(request.Tokens),
                Int64(CeilingMilliseconds(request.ExpiresAt)), Text(request.ReservationId)).ConfigureAwait(false);
            if (inserted == 0)
            {
                throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
            }

            await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return outcome;
        }, cancellationToken);
    }

    public ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            var tree = await ReadTreeAsync(connection, transaction,
                "SELECT t.tree FROM ledger_reservations AS r JOIN ledger_reservation_trees AS t ON t.root_id = r.root_id WHERE r.reservation_id = $1",
                id, cancellationToken).ConfigureAwait(false);
            var node = tree?.Find(id);
            return node is null || (keyId is not null && node.KeyId != keyId) ? null : tree!.View(node);
        }, cancellationToken);

    public ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            if (await LoadTreeAsync(connection, transaction, id, cancellationToken).ConfigureAwait(false) is not { } tree)
            {
                return new ReleaseOutcome(ReservationStatus.Unknown, []);
            }

            var (status, ended, delta) = tree.Release(id, keyId);
            if (status == ReservationStatus.Done)
            {
                await ApplyRootAsync(connection, transaction, tree, delta, cancellationToken).ConfigureAwait(false);
                await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            return new ReleaseOutcome(status, ended);
        }, cancellationToken);

    public async ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = await RunAsync(async (connection, transaction) =>
            await ReadTextsAsync(connection, transaction, "SELECT root_id FROM ledger_reservation_trees WHERE next_expiry_ms <= $1", Int64(now.ToUnixTimeMilliseconds()), cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

        // One transaction per tree: a tree row and then its counters, never two trees' locks at once.
        var ended = new List<ReservationView>();
        foreach (var rootId in due)
        {
            ended.AddRange(await RunAsync(async (connection, transaction) =>
            {
                if (await LoadTreeAsync(connection, transaction, rootId, cancellationToken).ConfigureAwait(false) is not { } tree)
                {
                    return [];
                }

                var (expired, delta) = tree.Expire(now);
                await ApplyRootAsync(connection, transaction, tree, delta, cancellationToken).ConfigureAwait(false);
                await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return expired;
            }, cancellationToken).ConfigureAwait(false));
        }

        return new ReleaseOutcome(ReservationStatus.Done, ended);
    }

    public ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ReservationView>>(async (connection, transaction) =>
        {
            var list = new List<ReservationView>();
            await using var command = new NpgsqlCommand(
                """
                SELECT tree FROM ledger_reservation_trees
                WHERE ($1::text IS NULL OR key_id = $1) AND (NOT $2 OR live)
                ORDER BY created_at_ms DESC, root_id LIMIT $3
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = keyId, DataTypeName = "text" });
            command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = liveOnly });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var tree = ReservationTreeCodec.Read(reader.GetString(0));
                list.Add(tree.View(tree.Root));
            }

            return list;
        }, cancellationToken);

    /// <summary>Settles a draw whose hold row the caller's transaction has locked.</summary>
    private static async Task<SettleOutcome> SettleDrawAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string holdId, string reservationId, long amount, long tokens, short state, long actual, long actualTokens, CancellationToken cancellationToken)
    {
        var tree = await LoadTreeAsync(connection, transaction, reservationId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Draw '{holdId}' names reservation '{reservationId}', which is not stored.");
        var settlement = LedgerRules.Settle((HoldPhase)state, amount, tokens, actual, actualTokens);
        if (!settlement.Changes)
        {
            return settlement.Outcome;
        }

        var delta = tree.Apply(reservationId, settlement);
        await ApplyRootAsync(connection, transaction, tree, delta, cancellationToken).ConfigureAwait(false);
        await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, PostgresLedgerSql.MarkHold, cancellationToken,
            Text(holdId), new NpgsqlParameter<short> { TypedValue = (short)settlement.Next }, Int64(actual), Int64(actualTokens)).ConfigureAwait(false);
        return settlement.Outcome;
    }

    /// <summary>Charges in full the draws whose requests never settled (a crashed instance), one transaction each.</summary>
    private async Task<int> ExpireDrawsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = await RunAsync(async (connection, transaction) =>
            await ReadTextsAsync(connection, transaction,
                "SELECT hold_id FROM ledger_holds WHERE state = 0 AND reservation_id IS NOT NULL AND expires_at_ms <= $1",
                Int64(now.ToUnixTimeMilliseconds()), cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        var expired = 0;
        foreach (var holdId in due)
        {
            expired += await RunAsync(async (connection, transaction) =>
            {
                await using (var command = new NpgsqlCommand(PostgresLedgerSql.LockHold, connection, transaction))
                {
                    command.Parameters.Add(Text(holdId));
                    await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.GetInt16(2) != PostgresLedgerSql.Held)
                    {
                        return 0;
                    }

                    var (amount, tokens, reservationId) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(3));
                    await reader.DisposeAsync().ConfigureAwait(false);
                    var tree = (await LoadTreeAsync(connection, transaction, reservationId, cancellationToken).ConfigureAwait(false))!;
                    await ApplyRootAsync(connection, transaction, tree, tree.SettleDraw(reservationId, amount, amount, tokens), cancellationToken).ConfigureAwait(false);
                    await SaveTreeAsync(connection, transaction, tree, cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(connection, transaction, "UPDATE ledger_holds SET state = 2 WHERE hold_id = $1", cancellationToken, Text(holdId)).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return 1;
            }, cancellationToken).ConfigureAwait(false);
        }

        return expired;
    }

    private static async Task ApplyRootAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReservationTree tree, CounterDelta delta, CancellationToken cancellationToken)
    {
        if (delta.IsZero)
        {
            return;
        }

        var holdId = ReservationRules.RootHoldId(tree.Root.Id);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Command(PostgresLedgerSql.LockHoldCounters, Text(holdId)));
        batch.BatchCommands.Add(Command(PostgresLedgerSql.ApplyHold, Text(holdId), Int64(delta.Spent), Int64(delta.SpentTokens), Int64(delta.Release), Int64(0)));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task<ReservationTree?> LoadTreeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string reservationId, CancellationToken cancellationToken) =>
        ReadTreeAsync(connection, transaction, LockTreeOf, reservationId, cancellationToken);

    private static async Task<ReservationTree?> ReadTreeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string reservationId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(Text(reservationId));
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string text ? ReservationTreeCodec.Read(text) : null;
    }

    private static async Task SaveTreeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReservationTree tree, CancellationToken cancellationToken)
    {
        var next = tree.NextExpiry;
        await using var command = new NpgsqlCommand(
            "UPDATE ledger_reservation_trees SET tree = $1, next_expiry_ms = $2, live = $3 WHERE root_id = $4", connection, transaction);
        command.Parameters.Add(Text(ReservationTreeCodec.Write(tree)));
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = next?.ToUnixTimeMilliseconds(), DataTypeName = "bigint" });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = tree.Root.State == ReservationState.Live });
        command.Parameters.Add(Text(tree.Root.Id));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<string>> ReadTextsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, NpgsqlParameter parameter, CancellationToken cancellationToken)
    {
        var list = new List<string>();
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(reader.GetString(0));
        }

        return list;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddRange(parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One transaction on a pooled connection; rolled back unless the operation commits it.</summary>
    private async ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            return await operation(connection, transaction).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Wrap(e);
        }
    }
}
