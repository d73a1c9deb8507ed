using Npgsql;
using Purser.Dashboard;
using Purser.Store.Sqlite;

namespace Purser.Store.Postgres.Dashboard;

/// <summary>
/// The dashboard's key ring and sessions in the shared PostgreSQL database, so that a session opened on one instance
/// works on every other and ends on all of them at once. An outage surfaces as the ledger's unavailable exception.
/// </summary>
public sealed class PostgresDashboardStore : IDashboardStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresDashboardStore(PostgresDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
    }

    public IReadOnlyList<string> ListKeyRingElements() => PostgresErrors.Run<IReadOnlyList<string>>(() =>
    {
        using var command = _dataSource.CreateCommand("SELECT xml FROM dashboard_key_ring ORDER BY seq");
        using var reader = command.ExecuteReader();
        return StoreRows.ReadTexts(reader);
    });

    public void AddKeyRingElement(string name, string xml)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(xml);
        PostgresErrors.Run(() =>
        {
            using var command = _dataSource.CreateCommand("INSERT INTO dashboard_key_ring (name, xml) VALUES ($1, $2)");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = xml });
            return command.ExecuteNonQuery();
        });
    }

    public Task AddSessionAsync(DashboardSessionRecord session, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        return ExecuteAsync("INSERT INTO dashboard_sessions (id, fingerprint, expires_at) VALUES ($1, $2, $3)", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = session.Id });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = session.Fingerprint });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = session.ExpiresAt.ToUnixTimeMilliseconds() });
        }, ct);
    }

    public Task<DashboardSessionRecord?> FindSessionAsync(string id, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand("SELECT fingerprint, expires_at FROM dashboard_sessions WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await reader.ReadAsync(ct).ConfigureAwait(false)
            ? new DashboardSessionRecord(id, reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)))
            : null;
    });

    public async Task<bool> ExtendSessionAsync(string id, DateTimeOffset expiresAt, CancellationToken ct) =>
        await ExecuteAsync("UPDATE dashboard_sessions SET expires_at = $2 WHERE id = $1", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expiresAt.ToUnixTimeMilliseconds() });
        }, ct).ConfigureAwait(false) == 1;

    public async Task<bool> EndSessionAsync(string id, CancellationToken ct) =>
        await ExecuteAsync("DELETE FROM dashboard_sessions WHERE id = $1", command =>
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id }), ct).ConfigureAwait(false) == 1;

    public Task<int> EndSessionsAsync(string fingerprint, DateTimeOffset now, CancellationToken ct) =>
        ExecuteAsync("DELETE FROM dashboard_sessions WHERE fingerprint <> $1 OR expires_at <= $2", command =>
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = fingerprint });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = now.ToUnixTimeMilliseconds() });
        }, ct);

    private Task<int> ExecuteAsync(string sql, Action<NpgsqlCommand> parameters, CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand(sql);
        parameters(command);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    });
}
