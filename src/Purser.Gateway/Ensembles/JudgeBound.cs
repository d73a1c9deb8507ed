using System.Text.Json.Nodes;
using Purser.Ensembles;
using Purser.Gateway.Budgets;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Ensembles;

/// <summary>
/// The judge's call is bounded like any other: the shape of its request (<see cref="RequestShapes"/>), by the one
/// worst-case function on each judge target (<see cref="CallShape.InputTokens"/>, <see cref="CallShape.Estimate"/>).
/// </summary>
internal static class JudgeBound
{
    /// <summary>The most input any judge target can bill for <paramref name="judgeRequest"/>, and the judge call's worst case.</summary>
    public static (long InputTokens, CallEstimate Estimate) Of(CallShape judge, JsonObject judgeRequest, int judgeBytes)
    {
        // The gateway builds the judge's request (OpenAI format, text only) from a request already read: no field of
        // it can be malformed, so the shape always reads.
        _ = RequestShapes.Read(judgeRequest, ApiFormat.OpenAI, judgeBytes, out var shape);
        return (judge.InputTokens(shape), judge.WithRequest(shape).Estimate(0));
    }
}
