using Purser.Gateway.Errors;

namespace Purser.Gateway.Errors;

/// <summary>
/// An expected failure of a request, as a value. The request path returns these instead of throwing; the one
/// <see cref="ErrorTable"/> decides status and body, and <see cref="ErrorWriter"/> renders it in the caller's format.
/// </summary>
internal readonly record struct GatewayError(GatewayErrorCode Code, string Message, string? Param = null)
{
    /// <summary>For upstream errors passed through: the upstream's status when it is meaningful to the caller.</summary>
    public int? StatusOverride { get; init; }

    /// <summary>Seconds the caller should wait, sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>
    /// Milliseconds the caller should wait, sent as retry-after-ms, and as retry-after in whole seconds (rounded up)
    /// when <see cref="RetryAfterSeconds"/> is not set.
    /// </summary>
    public long? RetryAfterMs { get; init; }

    /// <summary>For a 402: which budget refused, and its numbers.</summary>
    public Errors.BudgetDenial? Budget { get; init; }
}
