using Microsoft.Data.Sqlite;
using Purser.Pricing;
using Purser.Usage;

namespace Purser.Store.Sqlite.Tests;

internal static class TestRecords
{
    public static readonly DateTimeOffset Start = new(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);

    public static UsageRecord Make(string requestId, long costNano = 1000, string keyId = "team-a", string modelAlias = "gpt-4o", DateTimeOffset? at = null) => new()
    {
        RequestId = requestId,
        Timestamp = at ?? Start,
        KeyId = keyId,
        ModelAlias = modelAlias,
        Provider = "openai",
        UpstreamModel = "gpt-4o-2024-08-06",
        Operation = "chat",
        Tokens = new TokenUsage(100, 20),
        Cost = new Money(costNano),
        Status = 200,
        LatencyMs = 12,
    };

    public static long Scalar(SqliteDatabase db, string sql)
    {
        using var connection = db.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
