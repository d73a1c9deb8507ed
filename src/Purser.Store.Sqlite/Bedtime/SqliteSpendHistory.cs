using System.Globalization;
using System.Text;
using Purser.Bedtime;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Bedtime;

/// <summary>
/// Sums of the usage records by key and time range, on the (key_id, timestamp) index, and of the hourly roll-ups for
/// the time before the pruned horizon. Bedtime Mode asks once per scope and local day, never per request.
/// </summary>
public sealed class SqliteSpendHistory : ISpendHistory
{
    private readonly SqliteDatabase _database;

    public SqliteSpendHistory(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    public async Task<Money> SumAsync(IReadOnlyCollection<string> keyIds, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(keyIds);
        if (keyIds.Count == 0)
        {
            return Money.Zero;
        }

        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();

        // Records from the pruned horizon on, roll-ups (whole hours) before it: the same total before and after pruning.
        var keys = new StringBuilder(64);
        var i = 0;
        foreach (var key in keyIds)
        {
            var name = "$k" + i.ToString(CultureInfo.InvariantCulture);
            keys.Append(i == 0 ? "" : ", ").Append(name);
            command.Parameters.AddWithValue(name, key);
            i++;
        }

        var sql = new StringBuilder(512)
            .Append("SELECT (SELECT COALESCE(SUM(cost_nano), 0) FROM usage_records WHERE timestamp >= MAX($from, p) AND timestamp < $to AND key_id IN (")
            .Append(keys)
            .Append(")) + (SELECT COALESCE(SUM(cost_nano), 0) FROM usage_rollups WHERE hour_start >= $from AND hour_start + 3600000 <= MIN($to, p) AND key_id IN (")
            .Append(keys)
            .Append(")) FROM (SELECT pruned_before AS p FROM usage_retention WHERE id = 1");
        command.CommandText = sql.Append(");").ToString();
        command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        var result = await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return Money.FromNano(Convert.ToInt64(result, CultureInfo.InvariantCulture));
    }
}
