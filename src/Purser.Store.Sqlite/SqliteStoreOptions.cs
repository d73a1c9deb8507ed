namespace Purser.Store.Sqlite;

/// <summary>How the usage store batches its writes and where it reports write failures.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>The database file; the directory is created when missing.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// Most records written in one transaction. Small, because SQLite writes on a thread-pool thread of the gateway
    /// itself: a 64-record batch is a fraction of a millisecond of CPU that requests wait behind at worst, and commits in
    /// WAL mode with synchronous=NORMAL are cheap enough that 64 records still share one.
    /// </summary>
    public int MaxBatch { get; init; } = 64;

    /// <summary>
    /// Longest the writer waits for a batch to fill after it picked up its first record, so a quiet gateway still
    /// writes promptly while a busy one pays one commit per many records.
    /// </summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Called on the writer's thread when a batch could not be written; the batch is retried with backoff, so this is
    /// for logging only. It must not block for long.
    /// </summary>
    public Action<Exception>? OnError { get; init; }
}
