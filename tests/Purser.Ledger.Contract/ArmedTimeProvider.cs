using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Purser.Ledger.Contract;

/// <summary>
/// A fake clock that tells when a timer was armed, so a test advances time only once a loop waits on it (advancing
/// before would be lost) — a signal instead of a sleep.
/// </summary>
public sealed class ArmedTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _armed.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Waits (bounded) until a timer is armed, and returns its due time.</summary>
    public Task<TimeSpan> NextTimerAsync() =>
        _armed.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
}
