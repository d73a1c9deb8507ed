using Purser.Gateway.Errors;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Routing;

/// <summary>
/// One buffered call of a model or routing alias: the answer as an OpenAI chat.completion, what it cost, and the model
/// that served it; or the error, whether a route may fail over from it (the provider's failures: 429, 5xx, timeouts,
/// connection errors, unreadable answers), and what it is charged all the same (an attempt that reached the provider
/// and ended without usage is charged its worst case; failed-over attempts are summed into the route's result).
/// </summary>
internal sealed record SubCallResult(string ServedBy, System.Text.Json.Nodes.JsonObject? Response, TokenUsage Usage, Money Cost, GatewayError? Error, bool Retryable)
{
    public bool Ok => Error is null;

    /// <summary>How the upstream call failed, when it did.</summary>
    public Upstream.UpstreamFailure Failure { get; init; }

    public static SubCallResult Failed(string alias, GatewayError error, bool retryable) => new(alias, null, default, Money.Zero, error, retryable);
}
