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
        milliseconds <= 0 ? Task.CompletedTask : Task.Delay(TimeSpan.FromMilliseconds(milliseconds), Time, ct);

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
