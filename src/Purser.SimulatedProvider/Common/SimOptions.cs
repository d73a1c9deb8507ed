namespace Purser.SimulatedProvider.Common;

/// <summary>Per-request behaviour, from the model name suffix (<c>sim-4o~out=64,ttft=20</c>) and <c>x-sim-*</c> headers.</summary>
internal sealed class SimOptions
{
    public const int DefaultOut = 20;

    public int Out { get; set; } = DefaultOut;

    public int LatencyMs { get; set; }

    public int TtftMs { get; set; }

    public int TokensPerSecond { get; set; }

    public int Chunk { get; set; } = 1;

    public int Cached { get; set; }

    /// <summary>Hidden reasoning tokens per choice, within the output limit (OpenAI's completion_tokens_details.reasoning_tokens; Anthropic thinking).</summary>
    public int Reason { get; set; }

    /// <summary>Server-side web searches the model runs, at most the tool's max_uses.</summary>
    public int Searches { get; set; }

    /// <summary>A background response stays queued for this many retrievals before it completes (default: completes on the first).</summary>
    public int Queued { get; set; }

    public FailMode Fail { get; set; }

    public int FailStatus { get; set; }

    public int CutAfter { get; set; }
}
