using System.Data.Common;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite;

/// <summary>
/// One usage record from a row of <c>usage_records</c> selected in the column order both stores use (request_id …
/// degraded). Compiled into the PostgreSQL store too, so both read a record the same way; <c>streamed</c> is an integer
/// in SQLite and a boolean in PostgreSQL, and <see cref="DbDataReader.GetBoolean"/> reads either.
/// </summary>
internal static class UsageRecordColumns
{
    private const string GatewayIdPrefix = "req_";

    /// <summary>Every remaining row of <paramref name="reader"/>, in its order.</summary>
    public static async Task<IReadOnlyList<UsageRecord>> ReadAllAsync(DbDataReader reader, CancellationToken ct)
    {
        var records = new List<UsageRecord>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            records.Add(Read(reader));
        }

        return records;
    }

    public static UsageRecord Read(DbDataReader reader) => new()
    {
        RequestId = ReadRequestId(reader, 0),
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        KeyId = reader.GetString(2),
        ModelAlias = reader.GetString(3),
        Provider = reader.GetString(4),
        UpstreamModel = reader.GetString(5),
        Operation = reader.GetString(6),
        Tokens = new TokenUsage(
            reader.GetInt64(7),
            reader.GetInt64(8),
            reader.GetInt64(9),
            reader.GetInt64(10),
            CacheWrite1hTokens: reader.GetInt64(19),
            ReasoningTokens: reader.GetInt64(20),
            WebSearchRequests: reader.GetInt64(21),
            Tier: reader.IsDBNull(22) ? ServiceTier.Default : ServiceTiers.Parse(reader.GetString(22)) ?? ServiceTier.Default),
        Cost = new Money(reader.GetInt64(11)),
        Status = reader.GetInt32(12),
        ErrorCode = reader.IsDBNull(13) ? null : reader.GetString(13),
        LatencyMs = reader.GetInt64(14),
        Streamed = reader.GetBoolean(15),
        Source = (UsageSource)reader.GetInt32(16),
        TaskScope = reader.IsDBNull(17) ? null : reader.GetString(17),
        Degraded = reader.IsDBNull(18) ? null : reader.GetString(18),
        EndUser = reader.IsDBNull(23) ? null : reader.GetString(23),
        Tags = reader.IsDBNull(24) ? null : reader.GetString(24),
    };

    /// <summary>
    /// The gateway's own request ids ("req_" and 24 lowercase hex digits) as the 12 bytes they encode: SQLite keeps a
    /// blob of 12 bytes where the text took 28, in the table and again in its primary-key index, about 30 bytes of a
    /// record's 150. Any other id (a caller's, a test's) stays text; one id always encodes the same way, so the key
    /// still makes a replayed batch idempotent. PostgreSQL keeps the text.
    /// </summary>
    public static object EncodeRequestId(string id)
    {
        if (id.Length != GatewayIdPrefix.Length + 24 || !id.StartsWith(GatewayIdPrefix, StringComparison.Ordinal))
        {
            return id;
        }

        var hex = id.AsSpan(GatewayIdPrefix.Length);
        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return id;
            }
        }

        return Convert.FromHexString(hex);
    }

    private static string ReadRequestId(DbDataReader reader, int ordinal) =>
        reader.GetFieldType(ordinal) == typeof(byte[])
            ? GatewayIdPrefix + Convert.ToHexStringLower((byte[])reader.GetValue(ordinal))
            : reader.GetString(ordinal);
}
