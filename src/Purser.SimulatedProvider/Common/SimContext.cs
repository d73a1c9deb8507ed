namespace Purser.SimulatedProvider.Common;

/// <summary>What every handler shares: the clock, the id source and the server's shutdown signal.</summary>
internal sealed class SimContext
{
    public SimContext(TimeProvider time, CancellationToken stopping)
    {
        Time = time;
        Stopping = stopping;
    }

    public TimeProvider Time { get; }

    public IdGenerator Ids { get; } = new();

    public CancellationToken Stopping { get; }

    public long UnixNow => Time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Waits only when asked: zero means no timer at all.</summary>
    public Task DelayAsync(int milliseconds, CancellationToken ct) =>
        milliseconds <= 0 ? Task.CompletedTask : DelayAtLeastAsync(TimeSpan.FromMilliseconds(milliseconds), ct);

    /// <summary>
    /// Timers run on a coarse clock and can fire a fraction of a millisecond early; callers measure with a
    /// precise one, so top up until the requested time has really elapsed.
    /// </summary>
    private async Task DelayAtLeastAsync(TimeSpan wanted, CancellationToken ct)
    {
        long start = Time.GetTimestamp();
        TimeSpan left = wanted;
        for (int attempt = 0; attempt < 5 && left > TimeSpan.Zero; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)), Time, ct).ConfigureAwait(false);
            left = wanted - Time.GetElapsedTime(start);
        }
    }

    /// <summary>Never answers: waits until the client gives up (or the server stops).</summary>
    public async Task HangAsync(CancellationToken requestAborted)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, Stopping);
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (both.Token.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), never))
        {
            await never.Task.ConfigureAwait(false);
        }
    }
}
