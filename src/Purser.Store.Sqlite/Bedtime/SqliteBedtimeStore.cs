using System.Globalization;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Store.Sqlite.Bedtime;

/// <summary>Bedtime policies set through the admin API, one row per scope.</summary>
public sealed class SqliteBedtimeStore : IBedtimeStore
{
    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;

    public SqliteBedtimeStore(SqliteDatabase database, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(time);
        _database = database;
        _time = time;
    }

    public async Task<IReadOnlyList<BedtimePolicy>> ListAsync(CancellationToken ct)
    {
        var list = new List<BedtimePolicy>();
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT scope, enabled, time_zone, hours, baseline_days, multiplier, floor_nano, degrade_model FROM bedtime_policies ORDER BY scope;";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            // Rows are validated on the way in; a row that no longer parses (hand-edited) is skipped, not fatal.
            if (!ScopeRef.TryParse(reader.GetString(0), out var scope)
                || !BedtimeClock.TryParseHours(reader.GetString(3), out var start, out var end)
                || !decimal.TryParse(reader.GetString(5), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var multiplier))
            {
                continue;
            }

            list.Add(new BedtimePolicy(scope.Value, reader.GetInt64(1) != 0, reader.GetString(2), start, end, reader.GetInt32(4), multiplier,
                Money.FromNano(reader.GetInt64(6)), reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return list;
    }

    public async Task UpsertAsync(BedtimePolicy policy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO bedtime_policies (scope, enabled, time_zone, hours, baseline_days, multiplier, floor_nano, degrade_model, updated_at)
            VALUES ($scope, $enabled, $zone, $hours, $days, $multiplier, $floor, $degrade, $now)
            ON CONFLICT (scope) DO UPDATE SET enabled = excluded.enabled, time_zone = excluded.time_zone, hours = excluded.hours,
                baseline_days = excluded.baseline_days, multiplier = excluded.multiplier, floor_nano = excluded.floor_nano,
                degrade_model = excluded.degrade_model, updated_at = excluded.updated_at;
            """;
        command.Parameters.AddWithValue("$scope", policy.Scope.ToString());
        command.Parameters.AddWithValue("$enabled", policy.Enabled ? 1 : 0);
        command.Parameters.AddWithValue("$zone", policy.TimeZone);
        command.Parameters.AddWithValue("$hours", policy.Hours);
        command.Parameters.AddWithValue("$days", policy.BaselineDays);
        command.Parameters.AddWithValue("$multiplier", policy.Multiplier.ToString(CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$floor", policy.Floor.NanoUsd);
        command.Parameters.AddWithValue("$degrade", (object?)policy.DegradeModel ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string scope, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM bedtime_policies WHERE scope = $scope;";
        command.Parameters.AddWithValue("$scope", scope);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }
}
