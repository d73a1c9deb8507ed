using Npgsql;
using Purser.Bedtime;
using Purser.Pricing;

namespace Purser.Store.Postgres.Bedtime;

/// <summary>
/// Sums of the usage records of every instance by key and time range, on the (key_id, timestamp) index. Bedtime Mode
/// asks once per scope and local day, never per request.
/// </summary>
public sealed class PostgresSpendHistory : ISpendHistory
{
    private const string Sql =
        "SELECT COALESCE(SUM(cost_nano), 0)::bigint FROM usage_records WHERE timestamp >= $1 AND timestamp < $2 AND key_id = ANY($3)";

    private readonly NpgsqlDataSource _dataSource;

    public PostgresSpendHistory(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public async Task<Money> SumAsync(IReadOnlyCollection<string> keyIds, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(keyIds);
        if (keyIds.Count == 0)
        {
            return Money.Zero;
        }

        var keys = new string[keyIds.Count];
        var i = 0;
        foreach (var key in keyIds)
        {
            keys[i++] = key;
        }

        return await PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(Sql);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to.ToUnixTimeMilliseconds() });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys });
            var sum = (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            return Money.FromNano(sum);
        }).ConfigureAwait(false);
    }
}
