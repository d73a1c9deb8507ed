using Purser.Usage;

namespace Purser.Pricing;

/// <summary>
/// The one function that computes a request's <see cref="WorstCase"/> on a model. See docs/design.md ("The worst case
/// of a request") for why each term is an upper bound.
/// </summary>
public static class WorstCases
{
    /// <summary>
    /// Tokens a provider adds around the text: per-message role markers and the reply primer (OpenAI: 3–4 per message
    /// plus 3, each message being at least ~30 bytes of JSON), and a translation's added instruction.
    /// </summary>
    public const int Margin = 256;

    /// <summary>The hidden prompt Anthropic adds when tools are defined (its published maximum is 530 for Claude 3 Opus).</summary>
    public const int AnthropicToolPrompt = 600;

    /// <summary>Anthropic's per-tool system prompt of a provider-defined tool (computer use: 735 + 466 per tool definition).</summary>
    public const int AnthropicProviderToolPrompt = 1_300;

    /// <summary>OpenAI's function-calling preamble and per-function framing, above the definition's own bytes.</summary>
    public const int OpenAiToolPrompt = 32;

    public const int OpenAiPerToolFraming = 16;

    /// <summary>
    /// The worst case of <paramref name="shape"/> served by <paramref name="upstreamModel"/> with every choice limited to
    /// <paramref name="maxTokens"/> output tokens.
    /// </summary>
    public static WorstCase Of(RequestShape shape, string upstreamModel, bool anthropic, long? contextWindow, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(upstreamModel);

        // Text: every token covers at least one byte of the body, which holds every byte of the prompt.
        var input = shape.TextBytes + Margin;
        if (shape.Tools > 0)
        {
            input += anthropic ? AnthropicToolPrompt : OpenAiToolPrompt + ((long)shape.Tools * OpenAiPerToolFraming);
        }

        input += (long)shape.ProviderDefinedTools * AnthropicProviderToolPrompt;

        // Content whose billed size only the context window bounds: documents, files, audio, images without a formula.
        string? needsWindow = shape.UnsizedContent > 0 ? "a document, file or audio part whose size the gateway cannot bound" : null;
        foreach (var image in shape.Images)
        {
            if (ImageTokens.Bound(image, upstreamModel, anthropic) is { } tokens)
            {
                input += tokens;
            }
            else
            {
                needsWindow ??= $"an image, and the model '{upstreamModel}' has no published image formula";
            }
        }

        // Server tools: each use may add results of any size to the input and runs another sampling pass, so with u uses
        // there are at most u + 1 passes, each billed at most the context window of input and the output limit.
        long passes = 1;
        long fees = 0;
        var unbounded = shape.Unbounded;
        foreach (var tool in shape.ServerTools)
        {
            if (tool.MaxUses is not { } uses)
            {
                unbounded ??= $"the server tool '{tool.Type}' has no max_uses, so the number of its uses and their fees have no bound";
                continue;
            }

            passes += uses;
            needsWindow ??= $"the server tool '{tool.Type}' adds results of unknown size to the input";
            if (tool.ChargedPerUse)
            {
                fees += uses;
            }
        }

        if (shape.ContextWindowAtLeast is { } wider && contextWindow is { } own && own < wider)
        {
            contextWindow = wider;
        }

        if (contextWindow is { } window && window > 0)
        {
            input = needsWindow is null ? Math.Min(input, window) : window;
        }
        else if (needsWindow is not null)
        {
            unbounded ??= needsWindow + " and its context window is unknown";
        }

        var choices = Math.Max(1, shape.Choices);
        var output = (long)Math.Max(0, maxTokens) * choices * passes;
        var tier = ServiceTiers.Dearer(shape.Tier, ServiceTier.Default);
        return new WorstCase(input * passes, output, fees, tier, shape.CacheWrites, unbounded);
    }

    /// <summary>
    /// The largest per-choice output limit in [0, <paramref name="ceiling"/>] whose worst case costs at most
    /// <paramref name="budget"/> and adds at most <paramref name="tokenRoom"/> tokens; -1 when none does. The worst
    /// case grows with the limit, so a binary search finds it.
    /// </summary>
    public static long MaxTokensWithin(RequestShape shape, string upstreamModel, bool anthropic, long? contextWindow, ModelPrice price, Money budget, long tokenRoom, long ceiling)
    {
        ArgumentNullException.ThrowIfNull(price);
        bool Fits(long limit)
        {
            var bound = Of(shape, upstreamModel, anthropic, contextWindow, (int)limit);
            return bound.Cost(price) <= budget && bound.Tokens <= tokenRoom;
        }

        if (ceiling < 0 || !Fits(0))
        {
            return -1;
        }

        long low = 0;
        var high = Math.Min(ceiling, int.MaxValue);
        while (low < high)
        {
            var mid = low + ((high - low + 1) / 2);
            if (Fits(mid))
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        return low;
    }
}
