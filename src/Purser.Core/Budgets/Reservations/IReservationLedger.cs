namespace Purser.Budgets.Reservations;

/// <summary>
/// Reservations: long-lived holds on a key's budget path, split into a tree, drawn on by requests. Every ledger that
/// implements <see cref="IBudgetLedger"/> implements this too, on the same counters, and one contract suite checks them:
/// <list type="bullet">
/// <item>A root reserves its amount on every line exactly as <see cref="IBudgetLedger.ReserveAsync"/> would (all or nothing).</item>
/// <item>A child is carved out of its parent's remainder; the budgets do not move.</item>
/// <item>A draw holds its worst case out of the reservation's remainder; the budgets do not move. Settling it charges
/// the actual cost to every line's spent and moves the same amount out of the reservation's hold on the lines.</item>
/// <item>Release (and expiry) ends a reservation and its live descendants: the unspent remainder goes back to the
/// parent, or (a root) off the lines' held. Draws in flight keep their worst case held until they settle.</item>
/// </list>
/// </summary>
public interface IReservationLedger
{
    ValueTask<ReservationOutcome> CreateReservationAsync(ReservationRequest request, CancellationToken cancellationToken);

    ValueTask<DrawOutcome> DrawAsync(DrawRequest request, CancellationToken cancellationToken);

    /// <summary>The reservation and its subtree, or null when unknown or (with <paramref name="keyId"/>) another key's.</summary>
    ValueTask<ReservationView?> GetReservationAsync(string id, string? keyId, CancellationToken cancellationToken);

    ValueTask<ReleaseOutcome> ReleaseReservationAsync(string id, string keyId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Ends every live reservation whose time has passed (children first).</summary>
    ValueTask<ReleaseOutcome> ExpireReservationsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Whole trees, newest first: live ones only, or all; of one key, or of every key.</summary>
    ValueTask<IReadOnlyList<ReservationView>> ListReservationsAsync(string? keyId, bool liveOnly, int limit, CancellationToken cancellationToken);
}
