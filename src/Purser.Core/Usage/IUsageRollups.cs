namespace Purser.Usage;

/// <summary>The hourly roll-ups of the usage records, whatever the engine; they outlive the records' retention.</summary>
public interface IUsageRollups
{
    /// <summary>
    /// Every roll-up whose hour starts in [<paramref name="from"/>, <paramref name="to"/>), committed records only
    /// (flush first for read-your-writes), oldest hour first.
    /// </summary>
    Task<IReadOnlyList<UsageRollup>> QueryRollupsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct);
}
