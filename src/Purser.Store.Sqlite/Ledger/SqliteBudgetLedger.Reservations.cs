using Microsoft.Data.Sqlite;
using Purser.Budgets;
using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Ledger;

/// <summary>
/// Reservations in the ledger file: each operation is one <c>BEGIN IMMEDIATE</c> transaction that reads the tree,
/// applies <see cref="ReservationTree"/>'s rule, writes the tree back and charges the root's lines through its hold.
/// </summary>
public sealed partial class SqliteBudgetLedger : IReservationLedger
{
    public ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        return RunAsync(() =>
        {
            using var transaction = Begin(deferred: false);
            if (RootOf(request.Id) is not null)
            {
                throw new InvalidOperationException($"A reservation with id '{request.Id}' exists; reservation ids must be unique.");
            }

            ReservationOutcome outcome;
            ReservationTree tree;
            if (request.ParentId is { } parentId)
            {
                if (LoadTree(parentId) is not { } parentTree)
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
                var held = ReserveIn(ReservationRules.RootHold(request));
                if (!held.Granted)
                {
                    return new ReservationOutcome(ReservationStatus.DoesNotFit, null, held, Money.Zero);
                }

                tree = ReservationTree.NewRoot(request);
                outcome = new ReservationOutcome(ReservationStatus.Done, tree.View(tree.Root), held, request.Amount);
                Execute(
                    "INSERT INTO ledger_reservation_trees (root_id, key_id, created_at_ms, next_expiry_ms, live, tree) VALUES ($root, $key, $created, NULL, 1, '');",
                    ("$root", request.Id), ("$key", request.KeyId), ("$created", request.Now.ToUnixTimeMilliseconds()));
            }

            Execute("INSERT INTO ledger_reservations (reservation_id, root_id) VALUES ($id, $root);", ("$id", request.Id), ("$root", tree.Root.Id));
            SaveTree(tree);
            transaction.Commit();
            return outcome;
        }, cancellationToken);
    }

    public ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        return RunAsync(() =>
        {
            using var transaction = Begin(deferred: false);
            if (LoadTree(request.ReservationId) is not { } tree)
            {
                return new DrawOutcome(ReservationStatus.Unknown, Money.Zero);
            }

            var outcome = tree.TryDraw(request.ReservationId, request.KeyId, request.Amount.NanoUsd, request.Now);
            if (outcome.Status != ReservationStatus.Done)
            {
                return outcome;
            }

            var inserted = Execute(
                """
                INSERT INTO ledger_holds (hold_id, amount_nano, tokens, expires_at_ms, state, reservation_id)
                VALUES ($hold, $amount, $tokens, $expires, 0, $reservation) ON CONFLICT (hold_id) DO NOTHING;
                """,
                ("$hold", request.HoldId), ("$amount", request.Amount.NanoUsd), ("$tokens", request.Tokens),
                ("$expires", CeilingMilliseconds(request.ExpiresAt)), ("$reservation", request.ReservationId));
            if (inserted == 0)
            {
                throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
            }

            SaveTree(tree);
            transaction.Commit();
            return outcome;
        }, cancellationToken);
    }

    public ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            using var transaction = Begin(deferred: true);
            var tree = LoadTree(id);
            var node = tree?.Find(id);
            return node is null || (keyId is not null && node.KeyId != keyId) ? null : tree!.View(node);
        }, cancellationToken);

    public ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            using var transaction = Begin(deferred: false);
            if (LoadTree(id) is not { } tree)
            {
                return new ReleaseOutcome(ReservationStatus.Unknown, []);
            }

            var (status, ended, delta) = tree.Release(id, keyId);
            if (status == ReservationStatus.Done)
            {
                ApplyRoot(tree, delta);
                SaveTree(tree);
                transaction.Commit();
            }

            return new ReleaseOutcome(status, ended);
        }, cancellationToken);

    public ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        RunAsync(() =>
        {
            using var transaction = Begin(deferred: false);
            var due = new List<string>();
            using (var command = Command("SELECT root_id FROM ledger_reservation_trees WHERE next_expiry_ms <= $now;", ("$now", now.ToUnixTimeMilliseconds())))
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    due.Add(reader.GetString(0));
                }
            }

            var ended = new List<ReservationView>();
            foreach (var rootId in due)
            {
                var tree = LoadTree(rootId)!;
                var (expired, delta) = tree.Expire(now);
                ApplyRoot(tree, delta);
                SaveTree(tree);
                ended.AddRange(expired);
            }

            transaction.Commit();
            return new ReleaseOutcome(ReservationStatus.Done, ended);
        }, cancellationToken);

    public ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ReservationView>>(() =>
        {
            using var transaction = Begin(deferred: true);
            var list = new List<ReservationView>();
            using var command = Command(
                """
                SELECT tree FROM ledger_reservation_trees
                WHERE ($key IS NULL OR key_id = $key) AND ($live = 0 OR live = 1)
                ORDER BY created_at_ms DESC, root_id LIMIT $limit;
                """,
                ("$key", keyId), ("$live", liveOnly ? 1L : 0L), ("$limit", (long)limit));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var tree = ReservationTreeCodec.Read(reader.GetString(0));
                list.Add(tree.View(tree.Root));
            }

            return list;
        }, cancellationToken);

    /// <summary>Settles a draw inside the caller's transaction, as <see cref="Settle"/> does an ordinary hold.</summary>
    private SettleOutcome SettleDraw(string holdId, string reservationId, long amount, long tokens, long state, long actual, long actualTokens)
    {
        var tree = LoadTree(reservationId) ?? throw new InvalidOperationException($"Draw '{holdId}' names reservation '{reservationId}', which is not stored.");
        var settlement = LedgerRules.Settle((HoldPhase)state, amount, tokens, actual, actualTokens);
        if (!settlement.Changes)
        {
            return settlement.Outcome;
        }

        ApplyRoot(tree, tree.Apply(reservationId, settlement));
        SaveTree(tree);
        _markHoldId.Value = holdId;
        _markState.Value = (long)settlement.Next;
        _markActual.Value = actual;
        _markActualTokens.Value = actualTokens;
        _markHold.ExecuteNonQuery();
        return settlement.Outcome;
    }

    /// <summary>Charges in full the draws whose requests never settled (a crashed instance), inside the expiry transaction.</summary>
    private int ExpireDraws(DateTimeOffset now)
    {
        var due = new List<(string HoldId, string ReservationId, long Amount, long Tokens)>();
        using (var command = Command(
            "SELECT hold_id, reservation_id, amount_nano, tokens FROM ledger_holds WHERE state = 0 AND reservation_id IS NOT NULL AND expires_at_ms <= $now;",
            ("$now", now.ToUnixTimeMilliseconds())))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                due.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
            }
        }

        foreach (var draw in due)
        {
            var tree = LoadTree(draw.ReservationId)!;
            ApplyRoot(tree, tree.SettleDraw(draw.ReservationId, draw.Amount, draw.Amount, draw.Tokens));
            SaveTree(tree);
            Execute("UPDATE ledger_holds SET state = 2 WHERE hold_id = $hold;", ("$hold", draw.HoldId));
        }

        return due.Count;
    }

    private void ApplyRoot(ReservationTree tree, CounterDelta delta)
    {
        if (!delta.IsZero)
        {
            ApplyHold(ReservationRules.RootHoldId(tree.Root.Id), delta.Spent, delta.SpentTokens, delta.Release, 0);
        }
    }

    private string? RootOf(string reservationId)
    {
        using var command = Command("SELECT root_id FROM ledger_reservations WHERE reservation_id = $id;", ("$id", reservationId));
        return command.ExecuteScalar() as string;
    }

    private ReservationTree? LoadTree(string reservationId)
    {
        using var command = Command(
            "SELECT t.tree FROM ledger_reservations AS r JOIN ledger_reservation_trees AS t ON t.root_id = r.root_id WHERE r.reservation_id = $id;",
            ("$id", reservationId));
        return command.ExecuteScalar() is string text ? ReservationTreeCodec.Read(text) : null;
    }

    private void SaveTree(ReservationTree tree)
    {
        var next = tree.NextExpiry;
        Execute(
            "UPDATE ledger_reservation_trees SET tree = $tree, next_expiry_ms = $next, live = $live WHERE root_id = $root;",
            ("$tree", ReservationTreeCodec.Write(tree)), ("$next", next?.ToUnixTimeMilliseconds()),
            ("$live", tree.Root.State == ReservationState.Live ? 1L : 0L), ("$root", tree.Root.Id));
    }

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>An ad-hoc command in the current transaction (reservation operations are rare next to holds).</summary>
    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = _insertHold.Transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private async ValueTask<T> RunAsync<T>(Func<T> operation, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return operation();
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
}
