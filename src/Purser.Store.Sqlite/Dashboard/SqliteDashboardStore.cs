using Purser.Dashboard;

namespace Purser.Store.Sqlite.Dashboard;

/// <summary>The dashboard's key ring and sessions in the gateway's SQLite file (one instance).</summary>
public sealed class SqliteDashboardStore : IDashboardStore
{
    private readonly SqliteDatabase _database;

    public SqliteDashboardStore(SqliteDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
    }

    public IReadOnlyList<string> ListKeyRingElements()
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT xml FROM dashboard_key_ring ORDER BY seq;";
        using var reader = command.ExecuteReader();
        return StoreRows.ReadTexts(reader);
    }

    public void AddKeyRingElement(string name, string xml)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(xml);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO dashboard_key_ring (name, xml) VALUES ($name, $xml);";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$xml", xml);
        command.ExecuteNonQuery();
    }

    public async Task AddSessionAsync(DashboardSessionRecord session, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO dashboard_sessions (id, fingerprint, expires_at) VALUES ($id, $fingerprint, $expires);";
        command.Parameters.AddWithValue("$id", session.Id);
        command.Parameters.AddWithValue("$fingerprint", session.Fingerprint);
        command.Parameters.AddWithValue("$expires", session.ExpiresAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public async Task<DashboardSessionRecord?> FindSessionAsync(string id, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT fingerprint, expires_at FROM dashboard_sessions WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new DashboardSessionRecord(id, reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)))
            : null;
    }

    public async Task<bool> ExtendSessionAsync(string id, DateTimeOffset expiresAt, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE dashboard_sessions SET expires_at = $expires WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$expires", expiresAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<bool> EndSessionAsync(string id, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM dashboard_sessions WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<int> EndSessionsAsync(string fingerprint, DateTimeOffset now, CancellationToken ct)
    {
        using var connection = _database.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM dashboard_sessions WHERE fingerprint <> $fingerprint OR expires_at <= $now;";
        command.Parameters.AddWithValue("$fingerprint", fingerprint);
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
