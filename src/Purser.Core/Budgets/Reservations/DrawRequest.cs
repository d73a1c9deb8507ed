using Purser.Pricing;

namespace Purser.Budgets.Reservations;

/// <summary>
/// Hold <see cref="Amount"/> (a request's worst case) out of reservation <see cref="ReservationId"/>'s remainder as hold
/// <see cref="HoldId"/>; the hold is settled with <see cref="IBudgetLedger.SettleAsync"/> like any other, and one not
/// settled by <see cref="ExpiresAt"/> is charged in full by <see cref="IBudgetLedger.ExpireAsync"/>.
/// </summary>
public sealed record DrawRequest(string HoldId, string ReservationId, string KeyId, Money Amount, long Tokens, DateTimeOffset Now, DateTimeOffset ExpiresAt);
