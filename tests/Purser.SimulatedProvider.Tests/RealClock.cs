namespace Purser.SimulatedProvider.Tests;

/// <summary>
/// Real elapsed time, for what a test measures or bounds of real processes and sockets (reported figures, lower bounds
/// of real delays, deadlines of bounded loops); never a wait. Code under test takes a <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RealClock
{
    private readonly long _started = TimeProvider.System.GetTimestamp();
    private TimeSpan? _stopped;

    public TimeSpan Elapsed => _stopped ?? TimeProvider.System.GetElapsedTime(_started);

    public long ElapsedMilliseconds => (long)Elapsed.TotalMilliseconds;

    public static RealClock Start() => new();

    public void Stop() => _stopped = Elapsed;
}
