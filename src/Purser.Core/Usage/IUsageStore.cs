namespace Purser.Usage;

/// <summary>The durable side of usage records: what the sink wrote, read back for queries and exports.</summary>
public interface IUsageStore
{
    Task<IReadOnlyList<UsageRecord>> QueryAsync(UsageQuery query, CancellationToken cancellationToken);
}
