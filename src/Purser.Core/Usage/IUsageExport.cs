namespace Purser.Usage;

/// <summary>
/// The usage store's operator side, whatever the engine: waiting for buffered records to land (read-your-writes for
/// admin queries and Bedtime sums) and streaming records as CSV.
/// </summary>
public interface IUsageExport
{
    /// <summary>Completes once every record recorded before this call is committed. Cancelling stops the wait, not the write.</summary>
    Task FlushAsync(CancellationToken ct);

    /// <summary>Streams the matching records as CSV (header row first), newest first, without holding them all in memory.</summary>
    Task WriteCsvAsync(UsageQuery query, TextWriter writer, CancellationToken ct);
}
