namespace Purser.Gateway.Logging;

/// <summary>The log lines of propagation (operators' changes and dashboard sessions reaching every instance).</summary>
internal static partial class Log
{
    [LoggerMessage(1401, LogLevel.Information, "Listening for operators' changes on PostgreSQL (full reload done, version {Version})")]
    public static partial void ChangeListenerListening(ILogger logger, long version);

    [LoggerMessage(1402, LogLevel.Warning, "The listener for operators' changes failed; it reconnects in {RetryMs} ms and the version check every {PollMs} ms covers the gap")]
    public static partial void ChangeListenerFailed(ILogger logger, long retryMs, long pollMs, Exception exception);

    [LoggerMessage(1403, LogLevel.Information, "Applied operators' changes up to version {Version} ({Reason})")]
    public static partial void ChangesApplied(ILogger logger, long version, string reason);

    [LoggerMessage(1404, LogLevel.Error, "Applying operators' changes failed; the next version check tries again")]
    public static partial void ChangesApplyFailed(ILogger logger, Exception exception);

    [LoggerMessage(1405, LogLevel.Error, "Announcing an operator's change to the other instances failed; it is announced again at the next version check")]
    public static partial void ChangeAnnounceFailed(ILogger logger, Exception exception);

    [LoggerMessage(1406, LogLevel.Information, "The master key changed: {Count} dashboard sessions opened with another key were ended on every instance")]
    public static partial void DashboardSessionsRotated(ILogger logger, int count);

    [LoggerMessage(1407, LogLevel.Error, "Ending the dashboard sessions of the previous master key failed; sessions of the old key are still refused on instances that have the new one")]
    public static partial void DashboardSessionRotationFailed(ILogger logger, Exception exception);
}
