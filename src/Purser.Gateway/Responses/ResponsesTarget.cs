using Purser.Gateway.Configuration;
using Purser.Pricing;

namespace Purser.Gateway.Responses;

/// <summary>
/// One model a Responses request on a route may be served by, in the order it is tried: resolved for the caller's key,
/// priced, the output limit it is sent, and its worst case for the request (what its attempt is charged when it reached
/// the provider and nothing can be known; the route's hold is the sum over its targets, as for a chat route).
/// </summary>
internal sealed record ResponsesTarget(ResolvedModel Model, ModelPrice Price, int MaxTokens, Money WorstCost, long WorstTokens, long InputTokens);
