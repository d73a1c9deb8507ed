namespace Purser.Gateway.Upstream;

/// <summary>
/// One upstream call's deadline: the gateway's upstream timeout (from <see cref="TimeProvider"/>), and optionally the
/// caller's hang-up. Which of the two ended it is what <see cref="CallerGone"/> tells.
/// </summary>
internal sealed class UpstreamDeadline : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource? _linked;
    private readonly CancellationToken _callerGone;

    public UpstreamDeadline(TimeSpan timeout, TimeProvider time, CancellationToken callerGone)
    {
        _timer = new CancellationTokenSource(timeout, time);
        _callerGone = callerGone;
        if (callerGone.CanBeCanceled)
        {
            _linked = CancellationTokenSource.CreateLinkedTokenSource(_timer.Token, callerGone);
        }
    }

    public CancellationToken Token => _linked?.Token ?? _timer.Token;

    /// <summary>The caller hung up (only when the deadline was made with the caller's token).</summary>
    public bool CallerGone => _callerGone.IsCancellationRequested;

    public bool TimedOut => _timer.IsCancellationRequested && !CallerGone;

    public void Dispose()
    {
        _linked?.Dispose();
        _timer.Dispose();
    }
}
