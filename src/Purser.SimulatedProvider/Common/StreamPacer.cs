namespace Purser.SimulatedProvider.Common;

/// <summary>
/// Paces a stream at a tokens-per-second rate against a start timestamp rather than sleeping per chunk,
/// so timer granularity does not accumulate into drift and sub-millisecond gaps cost no timers at all.
/// </summary>
internal sealed class StreamPacer
{
    private readonly SimContext sim;
    private readonly int tokensPerSecond;
    private readonly long start;

    public StreamPacer(SimContext sim, int tokensPerSecond)
    {
        this.sim = sim;
        this.tokensPerSecond = tokensPerSecond;
        start = sim.Time.GetTimestamp();
    }

    public Task WaitForTokenAsync(long tokensSoFar, CancellationToken ct)
    {
        if (tokensPerSecond <= 0)
        {
            return Task.CompletedTask;
        }

        TimeSpan due = TimeSpan.FromSeconds((double)tokensSoFar / tokensPerSecond);
        TimeSpan ahead = due - sim.Time.GetElapsedTime(start);
        return ahead >= TimeSpan.FromMilliseconds(1) ? Task.Delay(ahead, sim.Time, ct) : Task.CompletedTask;
    }
}
