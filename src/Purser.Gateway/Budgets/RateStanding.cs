namespace Purser.Gateway.Budgets;

/// <summary>
/// Where a caller stands against the tightest applicable rate limits: for requests and for tokens, the limit per
/// minute, what is left, and the milliseconds until the bucket is full again. A kind with no limit has Limit 0.
/// </summary>
internal readonly record struct RateStanding(long RequestLimit, long RequestsRemaining, long RequestsResetMs, long TokenLimit, long TokensRemaining, long TokensResetMs)
{
    public static readonly RateStanding None = default;

    public bool HasRequests => RequestLimit > 0;

    public bool HasTokens => TokenLimit > 0;

    public bool Any => HasRequests || HasTokens;

    /// <summary>The tighter of this standing and a throttle's requests figures.</summary>
    public RateStanding WithRequests(long limit, long remaining, long resetMs) =>
        !HasRequests || remaining < RequestsRemaining
            ? this with { RequestLimit = limit, RequestsRemaining = remaining, RequestsResetMs = resetMs }
            : this;
}
