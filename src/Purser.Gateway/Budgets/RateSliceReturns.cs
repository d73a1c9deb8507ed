using Purser.Gateway.Logging;

namespace Purser.Gateway.Budgets;

/// <summary>
/// Every second, gives back to the shared buckets the slices this instance left idle for a second, and everything at
/// shutdown, so that the allowance an idle instance holds is not lost to the others for long. A failure is logged and
/// retried on the next tick (the units stay with this instance meanwhile only if the give-back was not attempted).
/// </summary>
internal sealed class RateSliceReturns : BackgroundService
{
    private const long IdleMs = 1000;

    private readonly RateLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly ILogger<RateSliceReturns> _logger;

    public RateSliceReturns(RateLimiter limiter, TimeProvider time, ILogger<RateSliceReturns> logger)
    {
        _limiter = limiter;
        _time = time;
        _logger = logger;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await ReturnAsync(0, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_limiter.Shared)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(IdleMs), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await ReturnAsync(IdleMs, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: StopAsync returns the rest.
        }
    }

    private async Task ReturnAsync(long idleMs, CancellationToken ct)
    {
        try
        {
            await _limiter.ReturnIdleAsync(idleMs, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RateSliceReturnFailed(_logger, ex);
        }
    }
}
