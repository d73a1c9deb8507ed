using Purser.Gateway.Errors;
using Purser.RateLimits;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The rate limits' answer to a request: a ticket when admitted (null when no limit applies), or the refusal and the
/// limit that refused; and, either way, the tightest standing to report in the response headers.
/// </summary>
internal readonly record struct RateOutcome(RateTicket? Ticket, GatewayError? Error, RateStanding Standing, RateLimitDefinition? RefusedBy);
