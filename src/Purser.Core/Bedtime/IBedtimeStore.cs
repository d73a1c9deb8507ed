namespace Purser.Bedtime;

/// <summary>Bedtime policies set through the admin API (the config file's are read from the file).</summary>
public interface IBedtimeStore
{
    Task<IReadOnlyList<BedtimePolicy>> ListAsync(CancellationToken ct);

    Task UpsertAsync(BedtimePolicy policy, CancellationToken ct);

    Task<bool> DeleteAsync(string scope, CancellationToken ct);
}
