namespace Purser.Pricing;

/// <summary>
/// Anthropic beta features (the <c>anthropic-beta</c> header) and what they do to a call's price and bound. A caller's
/// beta is forwarded only when the operator allows it (<c>server.anthropic_betas</c>); the defaults are the betas the
/// gateway prices and bounds: 1-hour cache writes (priced per class, held at the 1-hour rate when a
/// <c>cache_control</c> asks for them), the 1M-token context (its long-context rates are in the catalog; the bound's
/// context window becomes 1M), and betas that change no billing (tool streaming, token-efficient tools, interleaved
/// thinking, 128K output, whose limit is the request's own max_tokens, held as sent).
/// </summary>
public static class AnthropicBetas
{
    public const string Context1M = "context-1m-2025-08-07";

    /// <summary>The 1M-token window a <see cref="Context1M"/> call may fill.</summary>
    public const long Context1MWindow = 1_000_000;

    public static readonly IReadOnlyList<string> DefaultAllowed =
    [
        "extended-cache-ttl-2025-04-11",
        Context1M,
        "prompt-caching-2024-07-31",
        "token-efficient-tools-2025-02-19",
        "fine-grained-tool-streaming-2025-05-14",
        "interleaved-thinking-2025-05-14",
        "output-128k-2025-02-19",
    ];

    /// <summary>
    /// The first value of a comma-separated <c>anthropic-beta</c> header that is not allowed, or null; and whether the
    /// header switches on the 1M-token context.
    /// </summary>
    public static string? FirstRefused(string? header, IReadOnlyList<string> allowed, out bool context1M)
    {
        ArgumentNullException.ThrowIfNull(allowed);
        context1M = false;
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        foreach (var range in header.AsSpan().Split(','))
        {
            var value = header.AsSpan()[range].Trim();
            if (value.IsEmpty)
            {
                continue;
            }

            var known = false;
            foreach (var name in allowed)
            {
                if (value.SequenceEqual(name))
                {
                    known = true;
                    break;
                }
            }

            if (!known)
            {
                return value.ToString();
            }

            context1M |= value.SequenceEqual(Context1M);
        }

        return null;
    }
}
