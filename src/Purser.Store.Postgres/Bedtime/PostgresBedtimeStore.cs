using System.Globalization;
using Npgsql;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Postgres.Bedtime;

/// <summary>Bedtime policies set through the admin API, one row per scope, shared by every instance (as the SQLite store).</summary>
public sealed class PostgresBedtimeStore : IBedtimeStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    public PostgresBedtimeStore(PostgresDatabase db, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(time);
        _dataSource = db.DataSource;
        _time = time;
    }

    public Task<IReadOnlyList<BedtimePolicy>> ListAsync(CancellationToken ct) => PostgresErrors.RunAsync<IReadOnlyList<BedtimePolicy>>(async () =>
    {
        var list = new List<BedtimePolicy>();
        await using var command = _dataSource.CreateCommand(
            "SELECT scope, enabled, time_zone, hours, baseline_days, multiplier, floor_nano, degrade_model FROM bedtime_policies ORDER BY scope COLLATE \"C\"");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            // Rows are validated on the way in; a row that no longer parses (hand-edited) is skipped, not fatal.
            if (!ScopeRef.TryParse(reader.GetString(0), out var scope)
                || !BedtimeClock.TryParseHours(reader.GetString(3), out var start, out var end)
                || !decimal.TryParse(reader.GetString(5), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var multiplier))
            {
                continue;
            }

            list.Add(new BedtimePolicy(scope.Value, reader.GetBoolean(1), reader.GetString(2), start, end, reader.GetInt32(4), multiplier,
                Money.FromNano(reader.GetInt64(6)), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return list;
    });

    public async Task UpsertAsync(BedtimePolicy policy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(policy);
        await PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("""
                INSERT INTO bedtime_policies (scope, enabled, time_zone, hours, baseline_days, multiplier, floor_nano, degrade_model, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (scope) DO UPDATE SET enabled = excluded.enabled, time_zone = excluded.time_zone, hours = excluded.hours,
                    baseline_days = excluded.baseline_days, multiplier = excluded.multiplier, floor_nano = excluded.floor_nano,
                    degrade_model = excluded.degrade_model, updated_at = excluded.updated_at
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = policy.Scope.ToString() });
            command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = policy.Enabled });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = policy.TimeZone });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = policy.Hours });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = policy.BaselineDays });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = policy.Multiplier.ToString(CultureInfo.InvariantCulture) });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = policy.Floor.NanoUsd });
            command.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = policy.DegradeModel });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _time.GetUtcNow().ToUnixTimeMilliseconds() });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public Task<bool> DeleteAsync(string scope, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM bedtime_policies WHERE scope = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = scope });
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    });
}
