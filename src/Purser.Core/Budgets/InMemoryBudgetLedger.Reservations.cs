using Purser.Budgets.Reservations;
using Purser.Pricing;

namespace Purser.Budgets;

/// <summary>Reservations in memory: each tree with its root's hold on the lines, and draws by hold id, under the one lock.</summary>
public sealed partial class InMemoryBudgetLedger : IReservationLedger
{
    private readonly Dictionary<string, TreeEntry> _trees = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TreeEntry> _treeOfNode = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Draw> _draws = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Draw, DateTimeOffset> _drawsByExpiry = new();

    public ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_treeOfNode.ContainsKey(request.Id))
            {
                throw new InvalidOperationException($"A reservation with id '{request.Id}' exists; reservation ids must be unique.");
            }

            if (request.ParentId is { } parentId)
            {
                if (!_treeOfNode.TryGetValue(parentId, out var entry))
                {
                    return ValueTask.FromResult(ReservationOutcome.Of(ReservationStatus.Unknown));
                }

                var outcome = entry.Tree.TryAddChild(request);
                if (outcome.Status == ReservationStatus.Done)
                {
                    _treeOfNode.Add(request.Id, entry);
                }

                return ValueTask.FromResult(outcome);
            }

            var held = ReserveLocked(ReservationRules.RootHold(request), expires: false);
            if (!held.Granted)
            {
                return ValueTask.FromResult(new ReservationOutcome(ReservationStatus.DoesNotFit, null, held, Money.Zero));
            }

            var tree = ReservationTree.NewRoot(request);
            var created = new TreeEntry(tree, _holds[ReservationRules.RootHoldId(request.Id)]);
            _trees.Add(request.Id, created);
            _treeOfNode.Add(request.Id, created);
            return ValueTask.FromResult(new ReservationOutcome(ReservationStatus.Done, tree.View(tree.Root), held, request.Amount));
        }
    }

    public ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken)
    {
        ReservationRules.Validate(request);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_holds.ContainsKey(request.HoldId) || _draws.ContainsKey(request.HoldId))
            {
                throw new InvalidOperationException($"A hold with id '{request.HoldId}' was already taken; hold ids must be unique.");
            }

            if (!_treeOfNode.TryGetValue(request.ReservationId, out var entry))
            {
                return ValueTask.FromResult(new DrawOutcome(ReservationStatus.Unknown, Money.Zero));
            }

            var outcome = entry.Tree.TryDraw(request.ReservationId, request.KeyId, request.Amount.NanoUsd, request.Now);
            if (outcome.Status == ReservationStatus.Done)
            {
                var draw = new Draw(entry, request.ReservationId, request.Amount.NanoUsd, request.Tokens);
                _draws.Add(request.HoldId, draw);
                _drawsByExpiry.Enqueue(draw, request.ExpiresAt);
            }

            return ValueTask.FromResult(outcome);
        }
    }

    public ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var node = _treeOfNode.TryGetValue(id, out var entry) ? entry.Tree.Find(id) : null;
            return ValueTask.FromResult(node is null || (keyId is not null && node.KeyId != keyId) ? null : entry!.Tree.View(node));
        }
    }

    public ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_treeOfNode.TryGetValue(id, out var entry))
            {
                return ValueTask.FromResult(new ReleaseOutcome(ReservationStatus.Unknown, []));
            }

            var (status, ended, delta) = entry.Tree.Release(id, keyId);
            entry.RootHold.Apply(delta);
            return ValueTask.FromResult(new ReleaseOutcome(status, ended));
        }
    }

    public ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var ended = new List<ReservationView>();
        lock (_gate)
        {
            foreach (var entry in _trees.Values)
            {
                if (entry.Tree.NextExpiry is { } next && next <= now)
                {
                    var (expired, delta) = entry.Tree.Expire(now);
                    entry.RootHold.Apply(delta);
                    ended.AddRange(expired);
                }
            }
        }

        return ValueTask.FromResult(new ReleaseOutcome(ReservationStatus.Done, ended));
    }

    public ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = new List<ReservationView>();
        lock (_gate)
        {
            foreach (var entry in _trees.Values)
            {
                var root = entry.Tree.Root;
                if ((keyId is null || root.KeyId == keyId) && (!liveOnly || root.State == ReservationState.Live))
                {
                    list.Add(entry.Tree.View(root));
                }
            }
        }

        list.Sort(static (a, b) => b.CreatedAt.CompareTo(a.CreatedAt));
        return ValueTask.FromResult<IReadOnlyList<ReservationView>>(list.Count > limit ? list[..limit] : list);
    }

    private static SettleOutcome SettleDrawLocked(Draw draw, long actual, long actualTokens)
    {
        var settlement = LedgerRules.Settle(draw.State, draw.Amount, draw.Tokens, actual, actualTokens);
        if (settlement.Changes)
        {
            draw.Entry.RootHold.Apply(draw.Entry.Tree.Apply(draw.ReservationId, settlement));
            draw.State = settlement.Next;
        }

        return settlement.Outcome;
    }

    private int ExpireDrawsLocked(DateTimeOffset now)
    {
        var expired = 0;
        while (_drawsByExpiry.TryPeek(out var draw, out var expiresAt) && expiresAt <= now)
        {
            _drawsByExpiry.Dequeue();
            if (draw.State != HoldPhase.Held)
            {
                continue;
            }

            // A crashed instance's draw: charged its worst case, as any expired hold is.
            draw.Entry.RootHold.Apply(draw.Entry.Tree.SettleDraw(draw.ReservationId, draw.Amount, draw.Amount, draw.Tokens));
            draw.State = HoldPhase.Expired;
            expired++;
        }

        return expired;
    }

    private sealed record TreeEntry(ReservationTree Tree, Hold RootHold);

    private sealed class Draw(TreeEntry entry, string reservationId, long amount, long tokens)
    {
        public TreeEntry Entry { get; } = entry;

        public string ReservationId { get; } = reservationId;

        public long Amount { get; } = amount;

        public long Tokens { get; } = tokens;

        public HoldPhase State { get; set; }
    }
}
