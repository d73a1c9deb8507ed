using System.Data.Common;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// Reading <c>usage_rollups</c> back, and the retention statements. The column order of <see cref="SelectSql"/> is the
/// ordinal contract of <see cref="Read"/>; compiled into the PostgreSQL store too, whose table has the same columns.
/// </summary>
internal static class UsageRollupRows
{
    /// <summary>$1/$from and $2/$to: the hour range, in unix milliseconds. PostgreSQL and SQLite both accept "$1" names.</summary>
    public const string SelectSql =
        "SELECT hour_start, key_id, model_alias, outcome, requests, input_tokens, output_tokens, cost_nano, degraded_requests "
        + "FROM usage_rollups WHERE hour_start >= $1 AND hour_start < $2 ORDER BY hour_start, key_id, model_alias, outcome";

    public static UsageRollup Read(DbDataReader reader) => new()
    {
        HourStart = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)),
        KeyId = reader.GetString(1),
        ModelAlias = reader.GetString(2),
        Outcome = reader.GetString(3),
        Requests = reader.GetInt64(4),
        InputTokens = reader.GetInt64(5),
        OutputTokens = reader.GetInt64(6),
        Cost = new Money(reader.GetInt64(7)),
        Degraded = reader.GetInt64(8),
    };
}
