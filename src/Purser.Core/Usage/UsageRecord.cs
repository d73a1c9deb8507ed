using Purser.Pricing;

namespace Purser.Usage;

/// <summary>How the token counts of a record were obtained.</summary>
public enum UsageSource
{
    /// <summary>The provider reported usage (response body or final stream chunk).</summary>
    Reported = 0,

    /// <summary>The stream ended without usage; the gateway counted what it relayed and bounded the input.</summary>
    Counted = 1,

    /// <summary>The request was refused before any upstream call: nothing was spent.</summary>
    None = 2,

    /// <summary>
    /// The request reached the provider but nothing about its usage could be learned (no answer, an unreadable one,
    /// a lie, a timeout): it is charged the worst case it held, never $0.
    /// </summary>
    Held = 3,
}

/// <summary>One request's durable accounting line. Never contains prompts, completions or keys.</summary>
public sealed record UsageRecord
{
    public required string RequestId { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The virtual key's id (its name), never the secret.</summary>
    public required string KeyId { get; init; }

    public required string ModelAlias { get; init; }

    public string Provider { get; init; } = "";

    public string UpstreamModel { get; init; } = "";

    /// <summary>"chat", "messages", "embeddings", "responses" or "count_tokens" (free: always $0, no tokens).</summary>
    public required string Operation { get; init; }

    public TokenUsage Tokens { get; init; }

    public Money Cost { get; init; }

    /// <summary>HTTP status returned to the caller.</summary>
    public int Status { get; init; }

    /// <summary>Error code when the request failed (e.g. "upstream_error"), else null.</summary>
    public string? ErrorCode { get; init; }

    public long LatencyMs { get; init; }

    public bool Streamed { get; init; }

    public UsageSource Source { get; init; }

    /// <summary>The task scope the request was charged to (x-budget-scope), if any.</summary>
    public string? TaskScope { get; init; }

    /// <summary>The caller's end user (x-budget-user, or the body's user field from a key that trusts it), if named.</summary>
    public string? EndUser { get; init; }

    /// <summary>The request's tags (x-budget-tags), comma-separated, if any.</summary>
    public string? Tags { get; init; }

    /// <summary>How the request was degraded to fit a budget ("max_tokens=N", "model=alias"), if it was.</summary>
    public string? Degraded { get; init; }
}
