using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>Argument checks and the root's hold, shared by every <see cref="IReservationLedger"/>.</summary>
public static class ReservationRules
{
    /// <summary>The hold id under which a root reservation holds its amount on its lines (never expires on its own).</summary>
    public static string RootHoldId(string reservationId) => "reservation:" + reservationId;

    /// <summary>The root's hold: its amount, no tokens (reservations hold money), never charged by hold expiry.</summary>
    public static HoldRequest RootHold(ReservationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new HoldRequest(RootHoldId(request.Id), request.Lines, request.Amount, 0, DateTimeOffset.MaxValue);
    }

    public static void Validate(ReservationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Id, nameof(request));
        ArgumentException.ThrowIfNullOrEmpty(request.KeyId, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.Amount.NanoUsd, nameof(request));
        if (request.ExpiresAt <= request.Now)
        {
            throw new ArgumentException("A reservation must expire after it is made.", nameof(request));
        }

        if (request.ParentId is null)
        {
            LedgerRules.ValidateRequest(RootHold(request));
        }
    }

    public static void Validate(DrawRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.HoldId, nameof(request));
        ArgumentException.ThrowIfNullOrEmpty(request.ReservationId, nameof(request));
        ArgumentException.ThrowIfNullOrEmpty(request.KeyId, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegative(request.Amount.NanoUsd, nameof(request));
        ArgumentOutOfRangeException.ThrowIfNegative(request.Tokens, nameof(request));
    }

    /// <summary>Whole milliseconds, rounded up: how the durable stores keep instants, so every ledger expires alike.</summary>
    public static DateTimeOffset CeilingMilliseconds(DateTimeOffset instant)
    {
        var ms = instant.ToUnixTimeMilliseconds();
        return DateTimeOffset.FromUnixTimeMilliseconds(instant.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1);
    }
}
