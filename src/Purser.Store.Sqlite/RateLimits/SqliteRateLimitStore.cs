using Purser.RateLimits;
using Purser.Store.Sqlite.Admin;

namespace Purser.Store.Sqlite.RateLimits;

/// <summary>
/// Rate limits from the admin API and the shared buckets of <see cref="IRateLimitStore"/> in the Purser database. A
/// take or a give-back is one UPDATE whose every expression reads the row before it, so it is atomic when several
/// instances share the file; the units granted are written to <c>last_grant</c> and returned.
/// </summary>
public sealed class SqliteRateLimitStore : IRateLimitStore
{
    // The bucket refilled to $now: at most one minute of refill (which fills any bucket), never above the capacity.
    private const string Refilled = "MIN($per * 60000, level + MIN(60000, MAX(0, $now - updated_ms)) * $per)";

    private readonly SqliteDatabase _database;

    public SqliteRateLimitStore(SqliteDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _database = db;
    }

    public async Task UpsertAsync(StoredRateLimit limit, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limit);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText =
            "INSERT INTO rate_limits (id, definition, updated_at) VALUES ($id, $definition, $updated_at) "
            + "ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at;";
        command.Parameters.AddWithValue("$id", limit.Id);
        command.Parameters.AddWithValue("$definition", limit.Definition);
        command.Parameters.AddWithValue("$updated_at", AdminColumns.ToUnixMs(limit.UpdatedAt));
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredRateLimit>> ListAsync(CancellationToken ct)
    {
        var limits = new List<StoredRateLimit>();
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, definition, updated_at FROM rate_limits ORDER BY id;";
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            limits.Add(new StoredRateLimit(reader.GetString(0), reader.GetString(1), AdminColumns.FromUnixMs(reader.GetInt64(2))));
        }

        return limits;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(id);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM rate_limits WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) != 1)
        {
            return false;
        }

        // Its shared buckets go too: a limit created again under the same id starts full.
        using var buckets = connection.CreateCommand();
        buckets.CommandText = "DELETE FROM rate_limit_buckets WHERE bucket IN ($requests, $tokens);";
        buckets.Parameters.AddWithValue("$requests", id + ":requests");
        buckets.Parameters.AddWithValue("$tokens", id + ":tokens");
        await buckets.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return true;
    }

    public async Task<RateSlice> TakeAsync(string bucket, long perMinute, long want, long nowMs, CancellationToken ct)
    {
        Check(bucket, perMinute, want);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        // A new bucket starts full; an existing one is refilled and taken from, in one upsert.
        command.CommandText =
            "INSERT INTO rate_limit_buckets (bucket, level, updated_ms, last_grant) VALUES ($bucket, ($per - MIN($want, $per)) * 60000, $now, MIN($want, $per)) "
            + $"ON CONFLICT (bucket) DO UPDATE SET last_grant = MIN($want, MAX(0, {Refilled} / 60000)), "
            + $"level = {Refilled} - MIN($want, MAX(0, {Refilled} / 60000)) * 60000, updated_ms = MAX(updated_ms, $now) "
            + "RETURNING last_grant, level / 60000;";
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$per", perMinute);
        command.Parameters.AddWithValue("$want", want);
        command.Parameters.AddWithValue("$now", nowMs);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false) ? new RateSlice(reader.GetInt64(0), Math.Max(0, reader.GetInt64(1))) : default;
    }

    public async Task GiveBackAsync(string bucket, long perMinute, long units, long nowMs, CancellationToken ct)
    {
        Check(bucket, perMinute, units);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText =
            $"UPDATE rate_limit_buckets SET level = MIN($per * 60000, {Refilled} + $units * 60000), updated_ms = MAX(updated_ms, $now) WHERE bucket = $bucket;";
        command.Parameters.AddWithValue("$bucket", bucket);
        command.Parameters.AddWithValue("$per", perMinute);
        command.Parameters.AddWithValue("$units", units);
        command.Parameters.AddWithValue("$now", nowMs);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static void Check(string bucket, long perMinute, long units)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perMinute, RateLimitDefinition.MaxPerMinute);
        ArgumentOutOfRangeException.ThrowIfNegative(units);
    }
}
