using Npgsql;
using Purser.RateLimits;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Postgres.RateLimits;

/// <summary>
/// Rate limits from the admin API and the buckets several instances share (<see cref="IRateLimitStore"/>), with the
/// SQLite store's rules: a take is one upsert (a new bucket starts full; an existing one is refilled to now and taken
/// from), atomic under concurrent instances by the row lock the upsert takes. An outage surfaces as
/// <see cref="Budgets.LedgerUnavailableException"/>.
/// </summary>
public sealed class PostgresRateLimitStore : IRateLimitStore
{
    // $2 per minute, $4 now (ms): the stored level refilled to now, never above the capacity.
    private const string Refilled = "LEAST($2 * 60000, rate_limit_buckets.level + LEAST(60000, GREATEST(0, $4 - rate_limit_buckets.updated_ms)) * $2)";

    private readonly NpgsqlDataSource _dataSource;

    public PostgresRateLimitStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public Task UpsertAsync(StoredRateLimit limit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limit);
        return ExecuteAsync(
            "INSERT INTO rate_limits (id, definition, updated_at) VALUES ($1, $2, $3) "
            + "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
            command =>
            {
                command.Parameters.AddWithValue(limit.Id);
                command.Parameters.AddWithValue(limit.Definition);
                command.Parameters.AddWithValue(AdminColumns.ToUnixMs(limit.UpdatedAt));
            },
            ct);
    }

    public Task<IReadOnlyList<StoredRateLimit>> ListAsync(CancellationToken ct) => PostgresErrors.RunAsync<IReadOnlyList<StoredRateLimit>>(async () =>
    {
        var limits = new List<StoredRateLimit>();
        await using var command = _dataSource.CreateCommand("SELECT id, definition, updated_at FROM rate_limits ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            limits.Add(new StoredRateLimit(reader.GetString(0), reader.GetString(1), AdminColumns.FromUnixMs(reader.GetInt64(2))));
        }

        return limits;
    });

    public Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);

        // Its shared buckets go with it: a limit created again under the same id starts full.
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "WITH gone AS (DELETE FROM rate_limits WHERE id = $1 RETURNING id), "
                + "buckets AS (DELETE FROM rate_limit_buckets WHERE bucket IN ($1 || ':requests', $1 || ':tokens') AND EXISTS (SELECT 1 FROM gone)) "
                + "SELECT count(*) FROM gone");
            command.Parameters.AddWithValue(id);
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long deleted && deleted == 1;
        });
    }

    public Task<RateSlice> TakeAsync(string bucket, long perMinute, long want, long nowMs, CancellationToken ct)
    {
        Check(bucket, perMinute, want);
        return PostgresErrors.RunAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "INSERT INTO rate_limit_buckets (bucket, level, updated_ms, last_grant) VALUES ($1, ($2 - LEAST($3, $2)) * 60000, $4, LEAST($3, $2)) "
                + $"ON CONFLICT (bucket) DO UPDATE SET last_grant = LEAST($3, GREATEST(0, {Refilled} / 60000)), "
                + $"level = {Refilled} - LEAST($3, GREATEST(0, {Refilled} / 60000)) * 60000, updated_ms = GREATEST(rate_limit_buckets.updated_ms, $4) "
                + "RETURNING last_grant, rate_limit_buckets.level / 60000");
            Bind(command, bucket, perMinute, want, nowMs);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? new RateSlice(reader.GetInt64(0), Math.Max(0, reader.GetInt64(1))) : default;
        });
    }

    public Task GiveBackAsync(string bucket, long perMinute, long units, long nowMs, CancellationToken ct)
    {
        Check(bucket, perMinute, units);
        return ExecuteAsync(
            $"UPDATE rate_limit_buckets SET level = LEAST($2 * 60000, {Refilled} + $3 * 60000), updated_ms = GREATEST(updated_ms, $4) WHERE bucket = $1",
            command => Bind(command, bucket, perMinute, units, nowMs),
            ct);
    }

    private static void Bind(NpgsqlCommand command, string bucket, long perMinute, long units, long nowMs)
    {
        command.Parameters.AddWithValue(bucket);
        command.Parameters.AddWithValue(perMinute);
        command.Parameters.AddWithValue(units);
        command.Parameters.AddWithValue(nowMs);
    }

    private static void Check(string bucket, long perMinute, long units)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perMinute, RateLimitDefinition.MaxPerMinute);
        ArgumentOutOfRangeException.ThrowIfNegative(units);
    }

    private Task<bool> ExecuteAsync(string sql, Action<NpgsqlCommand> bind, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand(sql);
        bind(command);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    });
}
