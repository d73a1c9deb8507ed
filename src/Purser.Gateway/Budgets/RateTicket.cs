namespace Purser.Gateway.Budgets;

/// <summary>
/// What a request took from its rate limits: one request from each requests bucket, its worst-case tokens from each
/// tokens bucket, and a slot under each concurrency cap. <see cref="Settle"/> corrects the tokens to the actual usage
/// when the request is charged; <see cref="Release"/> frees the concurrency slots when the request ends (a stream when
/// it ends). Each happens at most once, whatever calls them.
/// </summary>
internal sealed class RateTicket
{
    private readonly RateLimiter _owner;
    private readonly RateLimiter.LimitState[] _limits;
    private int _settled;
    private int _released;

    public RateTicket(RateLimiter owner, RateLimiter.LimitState[] limits, long tokens)
    {
        _owner = owner;
        _limits = limits;
        Tokens = tokens;
    }

    /// <summary>The worst-case tokens taken at admission.</summary>
    public long Tokens { get; }

    /// <summary>Gives back the tokens held above <paramref name="actualTokens"/> (or takes what the request used beyond them).</summary>
    public void Settle(long actualTokens)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _owner.Settle(_limits, Tokens - Math.Max(0, actualTokens));
        }
    }

    /// <summary>Frees the request's concurrency slots.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(_limits);
        }
    }
}
