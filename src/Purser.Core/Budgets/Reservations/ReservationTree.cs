using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>
/// One reservation tree and its rules, shared by every ledger: a store loads the tree under its lock, calls one of these
/// methods, saves the tree and applies the returned <see cref="CounterDelta"/> to the root's lines.
/// <para>
/// The model: a live child's claim on its parent is max(amount − spent, held in flight below it); an ended child's is
/// what its draws in flight still hold. A node's remainder is amount − spent − own draws held − Σ children's claims
/// (spent rolls up, so a child's spend is counted once). The root's lines hold <see cref="CounterHeld"/>: while the root
/// is live, max(amount − spent, held in flight in the tree); once it ended, what is in flight. Settling a draw moves
/// its actual cost from held to spent on the lines; ending a root takes its unspent remainder off held.
/// </para>
/// </summary>
public sealed class ReservationTree
{
    private readonly List<ReservationNode> _nodes;

    public ReservationTree(IEnumerable<ReservationNode> nodes, long counterHeld)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        _nodes = [.. nodes];
        if (_nodes.Count == 0 || _nodes[0].ParentId is not null)
        {
            throw new ArgumentException("A reservation tree starts with its root.", nameof(nodes));
        }

        CounterHeld = counterHeld;
    }

    public ReservationNode Root => _nodes[0];

    public IReadOnlyList<ReservationNode> Nodes => _nodes;

    /// <summary>What the root's lines hold for this tree right now.</summary>
    public long CounterHeld { get; private set; }

    /// <summary>The earliest expiry among live reservations, or null when none is live.</summary>
    public DateTimeOffset? NextExpiry
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var node in _nodes)
            {
                if (node.State == ReservationState.Live && (next is null || node.ExpiresAt < next))
                {
                    next = node.ExpiresAt;
                }
            }

            return next;
        }
    }

    /// <summary>A new tree: the root reservation, which the caller has just held on its lines.</summary>
    public static ReservationTree NewRoot(ReservationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var root = new ReservationNode
        {
            Id = request.Id,
            KeyId = request.KeyId,
            Label = request.Label,
            Amount = request.Amount.NanoUsd,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(request.Now.ToUnixTimeMilliseconds()),
            ExpiresAt = ReservationRules.CeilingMilliseconds(request.ExpiresAt),
            Path = request.Path,
        };
        return new ReservationTree([root], request.Amount.NanoUsd);
    }

    public ReservationNode? Find(string id)
    {
        foreach (var node in _nodes)
        {
            if (node.Id == id)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Carves a child out of its parent's remainder.</summary>
    public ReservationOutcome TryAddChild(ReservationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var parent = request.ParentId is { } parentId ? Find(parentId) : null;
        if (parent is null || parent.KeyId != request.KeyId)
        {
            return ReservationOutcome.Of(ReservationStatus.Unknown);
        }

        if (!IsLive(parent, request.Now))
        {
            return ReservationOutcome.Of(ReservationStatus.NotLive);
        }

        if (parent.Depth + 1 > request.Limits.MaxDepth || _nodes.Count + 1 > request.Limits.MaxNodes)
        {
            return ReservationOutcome.Of(ReservationStatus.TooLarge);
        }

        var available = Remaining(parent);
        if (request.Amount.NanoUsd > available)
        {
            return ReservationOutcome.Of(ReservationStatus.DoesNotFit, new Money(available));
        }

        var child = new ReservationNode
        {
            Id = request.Id,
            ParentId = parent.Id,
            KeyId = request.KeyId,
            Label = request.Label,
            Depth = parent.Depth + 1,
            Amount = request.Amount.NanoUsd,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(request.Now.ToUnixTimeMilliseconds()),
            ExpiresAt = ReservationRules.CeilingMilliseconds(request.ExpiresAt < parent.ExpiresAt ? request.ExpiresAt : parent.ExpiresAt),
            Path = parent.Path,
        };
        _nodes.Add(child);
        return new ReservationOutcome(ReservationStatus.Done, View(child), null, new Money(Remaining(child)));
    }

    /// <summary>Holds a draw's worst case out of the reservation's remainder.</summary>
    public DrawOutcome TryDraw(string id, string keyId, long amount, DateTimeOffset now)
    {
        var node = Find(id);
        if (node is null || node.KeyId != keyId)
        {
            return new DrawOutcome(ReservationStatus.Unknown, Money.Zero);
        }

        if (!IsLive(node, now))
        {
            return new DrawOutcome(ReservationStatus.NotLive, Money.Zero);
        }

        var remaining = Remaining(node);
        if (amount > remaining)
        {
            return new DrawOutcome(ReservationStatus.Exhausted, new Money(remaining));
        }

        node.Held = checked(node.Held + amount);
        return new DrawOutcome(ReservationStatus.Done, new Money(remaining - amount));
    }

    /// <summary>Applies a draw's settlement (<see cref="LedgerRules.Settle"/>): a held draw ends, an expired one is corrected.</summary>
    public CounterDelta Apply(string id, in HoldSettlement settlement) =>
        settlement.Outcome == SettleOutcome.Settled
            ? SettleDraw(id, settlement.Release, settlement.Spent, settlement.SpentTokens)
            : CorrectDraw(id, settlement.Spent, settlement.SpentTokens);

    /// <summary>Ends a draw: its worst case <paramref name="held"/> leaves the reservation, its actual cost is spent by it and every ancestor.</summary>
    public CounterDelta SettleDraw(string id, long held, long actual, long actualTokens)
    {
        var node = Find(id) ?? throw new InvalidOperationException($"Reservation '{id}' is not in tree '{Root.Id}'.");
        node.Held = checked(node.Held - held);
        AddSpent(node, actual);
        return Reconcile(actual, actualTokens);
    }

    /// <summary>Replaces an expired draw's full charge with its actual cost (the difference may be negative).</summary>
    public CounterDelta CorrectDraw(string id, long delta, long deltaTokens)
    {
        var node = Find(id) ?? throw new InvalidOperationException($"Reservation '{id}' is not in tree '{Root.Id}'.");
        AddSpent(node, delta);
        return Reconcile(delta, deltaTokens);
    }

    /// <summary>Ends a live reservation and its live descendants, children first; null when unknown to this key.</summary>
    public (ReservationStatus Status, List<ReservationView> Ended, CounterDelta Delta) Release(string id, string keyId)
    {
        var node = Find(id);
        if (node is null || node.KeyId != keyId)
        {
            return (ReservationStatus.Unknown, [], default);
        }

        if (node.State != ReservationState.Live)
        {
            return (ReservationStatus.NotLive, [], default);
        }

        var ended = new List<ReservationView>();
        End(node, ReservationState.Released, ended);
        return (ReservationStatus.Done, ended, Reconcile(0, 0));
    }

    /// <summary>Ends every live reservation whose expiry is at or before <paramref name="now"/>, children first.</summary>
    public (List<ReservationView> Ended, CounterDelta Delta) Expire(DateTimeOffset now)
    {
        var ended = new List<ReservationView>();
        for (var i = 0; i < _nodes.Count; i++)
        {
            if (_nodes[i].State == ReservationState.Live && _nodes[i].ExpiresAt <= now)
            {
                End(_nodes[i], ReservationState.Expired, ended);
            }
        }

        return (ended, ended.Count == 0 ? default : Reconcile(0, 0));
    }

    /// <summary>What the reservation can still hold for draws or children (0 once ended).</summary>
    public long Remaining(ReservationNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.State != ReservationState.Live)
        {
            return 0;
        }

        var used = checked(node.Spent + node.Held);
        foreach (var child in _nodes)
        {
            if (child.ParentId == node.Id)
            {
                used = checked(used + Claim(child));
            }
        }

        return Math.Max(0, node.Amount - used);
    }

    /// <summary>The worst case held by draws in flight on the node and below it.</summary>
    public long HeldBelow(ReservationNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var held = node.Held;
        foreach (var child in _nodes)
        {
            if (child.ParentId == node.Id)
            {
                held = checked(held + HeldBelow(child));
            }
        }

        return held;
    }

    public ReservationView View(ReservationNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var children = new List<ReservationView>();
        foreach (var child in _nodes)
        {
            if (child.ParentId == node.Id)
            {
                children.Add(View(child));
            }
        }

        return new ReservationView(
            node.Id, Root.Id, node.ParentId, node.KeyId, node.Label, node.Depth, new Money(node.Amount), new Money(node.Spent),
            new Money(HeldBelow(node)), new Money(Remaining(node)), node.State, node.CreatedAt, node.ExpiresAt, node.Path, children);
    }

    private static bool IsLive(ReservationNode node, DateTimeOffset now) => node.State == ReservationState.Live && node.ExpiresAt > now;

    private long Claim(ReservationNode child)
    {
        var below = HeldBelow(child);
        return child.State == ReservationState.Live ? Math.Max(child.Amount - child.Spent, below) : below;
    }

    private void AddSpent(ReservationNode node, long amount)
    {
        for (ReservationNode? at = node; at is not null; at = at.ParentId is { } parent ? Find(parent) : null)
        {
            at.Spent = checked(at.Spent + amount);
        }
    }

    private void End(ReservationNode node, ReservationState state, List<ReservationView> ended)
    {
        foreach (var child in _nodes)
        {
            if (child.ParentId == node.Id && child.State == ReservationState.Live)
            {
                End(child, state, ended);
            }
        }

        // The view is taken just before the node ends, so it shows the remainder being given back.
        ended.Add(View(node));
        node.State = state;
    }

    private CounterDelta Reconcile(long spent, long spentTokens)
    {
        var root = Root;
        var inFlight = HeldBelow(root);
        var desired = root.State == ReservationState.Live ? Math.Max(root.Amount - root.Spent, inFlight) : inFlight;
        desired = Math.Max(0, desired);
        var release = checked(CounterHeld - desired);
        CounterHeld = desired;
        return new CounterDelta(spent, spentTokens, release);
    }
}
