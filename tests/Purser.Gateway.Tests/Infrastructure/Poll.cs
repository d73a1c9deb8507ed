namespace Purser.Gateway.Tests;

/// <summary>
/// The pause between two checks of a bounded poll loop. Real time on purpose, and only here: what such a loop waits on
/// is a real process, database or socket, never a fixed sleep standing in for a signal (every loop using it is bounded
/// by an attempt count or a deadline, and checks its condition before pausing).
/// </summary>
internal static class Poll
{
    public static Task NextAsync(int milliseconds, CancellationToken cancellationToken = default) =>
        Task.Delay(TimeSpan.FromMilliseconds(milliseconds), TimeProvider.System, cancellationToken);
}
