using Npgsql;
using Purser.Bedtime;
using Purser.Pricing;

namespace Purser.Store.Postgres.Bedtime;

/// <summary>
/// Sums of the usage records of every instance by key and time range, on the (key_id, timestamp) index, and of the
/// hourly roll-ups for the time before the pruned horizon. Bedtime Mode asks once per scope and local day, never per request.
/// </summary>
public sealed class PostgresSpendHistory : ISpendHistory
{
    // Records from the pruned horizon on, roll-ups (whole hours) before it: the same total before and after pruning.
    private const string Sql =
        """
        SELECT (SELECT COALESCE(SUM(cost_nano), 0) FROM usage_records WHERE timestamp >= GREATEST($1, r.pruned_before) AND timestamp < $2 AND key_id = ANY($3))::bigint
             + (SELECT COALESCE(SUM(cost_nano), 0) FROM usage_rollups WHERE hour_start >= $1 AND hour_start + 3600000 <= LEAST($2, r.pruned_before) AND key_id = ANY($3))::bigint
        FROM usage_retention r WHERE r.id = 1
        """;

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
