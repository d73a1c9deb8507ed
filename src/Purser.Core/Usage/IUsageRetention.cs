namespace Purser.Usage;

/// <summary>Pruning usage records past their retention; the roll-ups that sum them are kept.</summary>
public interface IUsageRetention
{
    /// <summary>
    /// Deletes at most <paramref name="batchSize"/> of the records older than <paramref name="before"/> (a UTC hour
    /// boundary) in one short transaction, and records <paramref name="before"/> as the horizon below which spend
    /// sums read the roll-ups. Returns how many were deleted: fewer than the batch means none are left.
    /// </summary>
    Task<int> PruneAsync(DateTimeOffset before, int batchSize, CancellationToken ct);
}
