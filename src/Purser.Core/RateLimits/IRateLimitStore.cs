namespace Purser.RateLimits;

/// <summary>
/// Rate limits created through the admin API, and the allowance several gateway instances share: one token bucket per
/// limit and kind (<c>"&lt;id&gt;:requests"</c>, <c>"&lt;id&gt;:tokens"</c>), of <c>perMinute</c> units refilled at that rate,
/// kept in sixty-thousandths of a unit exactly as <see cref="TokenBucket"/> keeps it. An instance takes a slice of it
/// and spends it locally, so no request waits on the database; what it did not spend it gives back. Every method is one
/// atomic statement, safe when instances race.
/// </summary>
public interface IRateLimitStore
{
    /// <summary>Creates the limit or replaces the one with the same id.</summary>
    Task UpsertAsync(StoredRateLimit limit, CancellationToken ct);

    /// <summary>Every stored limit, ordered by id.</summary>
    Task<IReadOnlyList<StoredRateLimit>> ListAsync(CancellationToken ct);

    /// <summary>Removes the limit; false when there was none.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken ct);

    /// <summary>
    /// Refills the shared bucket to <paramref name="nowMs"/> (a new bucket starts full; a changed
    /// <paramref name="perMinute"/> resizes it) and takes up to <paramref name="want"/> whole units: returns how many
    /// it took (0 when the bucket holds less than one) and the whole units left in the shared bucket after the take.
    /// </summary>
    Task<RateSlice> TakeAsync(string bucket, long perMinute, long want, long nowMs, CancellationToken ct);

    /// <summary>Gives back <paramref name="units"/> taken and not spent, never filling the bucket above one minute's allowance.</summary>
    Task GiveBackAsync(string bucket, long perMinute, long units, long nowMs, CancellationToken ct);
}
