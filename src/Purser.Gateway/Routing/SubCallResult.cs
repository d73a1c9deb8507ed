using Purser.Gateway.Errors;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Routing;

/// <summary>
/// One buffered call of a model or routing alias: the answer as an OpenAI chat.completion, what it cost, and the model
/// that served it; or the error, and whether a route may fail over from it (429, 5xx, timeouts, connection errors).
/// </summary>
internal sealed record SubCallResult(string ServedBy, System.Text.Json.Nodes.JsonObject? Response, TokenUsage Usage, Money Cost, GatewayError? Error, bool Retryable)
{
    public bool Ok => Error is null;

    public static SubCallResult Failed(string alias, GatewayError error, bool retryable) => new(alias, null, default, Money.Zero, error, retryable);
}
