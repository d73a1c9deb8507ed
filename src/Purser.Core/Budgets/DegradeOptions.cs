namespace Purser.Budgets;

/// <summary>
/// What to try, in order, when a request's worst case does not fit this budget: lower <c>max_tokens</c> (never below
/// <see cref="MinMaxTokens"/>), then serve <see cref="FallbackModel"/> instead — before refusing; and
/// <see cref="ThrottleRpm"/>, a rate applied while a soft budget is past its cap.
/// </summary>
public sealed record DegradeOptions
{
    /// <summary>A cheaper model alias to serve instead; null to skip this step.</summary>
    public string? FallbackModel { get; init; }

    /// <summary>The smallest max_tokens the gateway may lower a request to; null to skip this step.</summary>
    public int? MinMaxTokens { get; init; }

    /// <summary>
    /// While a soft budget is past its cap, requests on it are limited to this many per minute (429 with the rate-limit
    /// headers) instead of admitted without limit; null for no throttle.
    /// </summary>
    public int? ThrottleRpm { get; init; }
}
