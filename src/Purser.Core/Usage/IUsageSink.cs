namespace Purser.Usage;

/// <summary>
/// Where the request path drops its usage records. Implementations must not block or touch the disk on the caller's
/// thread: records are buffered and written in batches, and a clean shutdown flushes every buffered record.
/// </summary>
public interface IUsageSink
{
    void Record(UsageRecord record);
}
