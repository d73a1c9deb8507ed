namespace Purser.Gateway.Logging;

/// <summary>The log lines of background work (timers and hosted loops) that failed once and keeps going.</summary>
internal static partial class Log
{
    [LoggerMessage(1801, LogLevel.Error, "Background work {Worker} failed; it runs again at its next turn")]
    public static partial void BackgroundWorkFailed(ILogger logger, string worker, Exception exception);
}
