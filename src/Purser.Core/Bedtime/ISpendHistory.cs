using Purser.Pricing;

namespace Purser.Bedtime;

/// <summary>What keys spent in a time range, read from the durable usage records.</summary>
public interface ISpendHistory
{
    /// <summary>The total cost of the keys' usage records with <paramref name="from"/> ≤ timestamp &lt; <paramref name="to"/>.</summary>
    Task<Money> SumAsync(IReadOnlyCollection<string> keyIds, DateTimeOffset from, DateTimeOffset to, CancellationToken ct);
}
