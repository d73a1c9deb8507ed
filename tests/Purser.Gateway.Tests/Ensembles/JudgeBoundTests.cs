using System.Text;
using System.Text.Json.Nodes;
using Purser.Ensembles;
using Purser.Gateway.Ensembles;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Gateway.Tests.Ensembles;

/// <summary>
/// The judge's call is bounded by the one worst-case function (issue 13), not a separate byte bound: its text's bytes
/// plus the margin on each judge target, within that target's context window, and every target's worst case summed
/// (failover may try each).
/// </summary>
public sealed class JudgeBoundTests
{
    private static readonly CatalogEntry Claude = PriceCatalog.Default.Entries["claude-haiku-4-5"];
    private static readonly CatalogEntry Mini = PriceCatalog.Default.Entries["gpt-4o-mini"];

    private static CallShape Judge() => new(
    [
        new PricedTarget(Claude.Price, 500, "claude-haiku-4-5", Anthropic: true, Claude.ContextWindow),
        new PricedTarget(Mini.Price, 300, "gpt-4o-mini", Anthropic: false, Mini.ContextWindow),
    ]);

    private static (JsonObject Request, int Bytes) JudgeRequestOf(string userText)
    {
        var caller = new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = userText }) };
        var request = JudgeRequest.Build(caller, "Pick the best answer.", []);
        return (request, Encoding.UTF8.GetByteCount(request.ToJsonString()));
    }

    [Fact]
    public void A_judge_request_is_held_at_its_bytes_plus_the_margin_on_every_target()
    {
        var (request, bytes) = JudgeRequestOf("What is the capital of France?");

        var (input, estimate) = JudgeBound.Of(Judge(), request, bytes);

        var expectedInput = bytes + WorstCases.Margin;
        Assert.Equal(expectedInput, input);
        Assert.Equal(Claude.Price.Cost(new TokenUsage(expectedInput, 500)) + Mini.Price.Cost(new TokenUsage(expectedInput, 300)), estimate.Cost);
        Assert.Equal((2 * expectedInput) + 800, estimate.Tokens);
    }

    [Fact]
    public void A_judge_request_above_every_window_is_bounded_by_the_largest_window()
    {
        // 1 MB of text: more than either judge target accepts, so no target can bill more than its window.
        var (request, bytes) = JudgeRequestOf(new string('x', 1_000_000));

        var (input, estimate) = JudgeBound.Of(Judge(), request, bytes);

        Assert.Equal(Math.Max(Claude.ContextWindow!.Value, Mini.ContextWindow!.Value), input);
        Assert.Equal(Claude.Price.Cost(new TokenUsage(Claude.ContextWindow.Value, 500)) + Mini.Price.Cost(new TokenUsage(Mini.ContextWindow.Value, 300)), estimate.Cost);
    }
}
