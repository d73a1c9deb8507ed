using System.Globalization;
using Npgsql;
using Purser.Admin;

namespace Purser.Store.Postgres.Changes;

/// <summary>
/// Operators' changes announced to every instance on one PostgreSQL schema: <c>config_version</c> is bumped and
/// <c>pg_notify</c> sent in one statement (so the notification is delivered when the bump commits, never before), and a
/// listener holds a connection of its own in <c>LISTEN</c>. The channel is named after the schema, so that several Purser
/// schemas in one database do not wake each other.
/// </summary>
public sealed class PostgresChangeFeed : IChangeFeed, IAsyncDisposable
{
    private const string ChannelPrefix = "purser_changes.";

    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _listener;
    private string? _channel;

    /// <param name="db">The shared database.</param>
    /// <param name="listenerName">The listener connection's application name in <c>pg_stat_activity</c>.</param>
    public PostgresChangeFeed(PostgresDatabase db, string listenerName)
    {
        ArgumentNullException.ThrowIfNull(db);
        _dataSource = db.DataSource;
        _listener = db.CreateListenerSource(listenerName);
    }

    public Task<long> AnnounceAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        var channel = await ChannelAsync(ct).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(
            "WITH bumped AS (UPDATE config_version SET version = version + 1 WHERE id = 1 RETURNING version) "
            + "SELECT version, pg_notify($1, version::text) FROM bumped");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    });

    public Task<long> ReadVersionAsync(CancellationToken ct) => PostgresErrors.RunAsync(async () =>
    {
        await using var command = _dataSource.CreateCommand("SELECT version FROM config_version WHERE id = 1");
        return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    });

    public async Task ListenAsync(Func<CancellationToken, Task> onListening, Action<long> onAnnounced, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(onListening);
        ArgumentNullException.ThrowIfNull(onAnnounced);
        var channel = await PostgresErrors.RunAsync(() => ChannelAsync(ct)).ConfigureAwait(false);
        var connection = await PostgresErrors.RunAsync(() => _listener.OpenConnectionAsync(ct).AsTask()).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            connection.Notification += (_, e) =>
            {
                if (e.Channel == channel && long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                {
                    onAnnounced(version);
                }
            };

            await using (var listen = new NpgsqlCommand("LISTEN \"" + channel.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"", connection))
            {
                await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            await onListening(ct).ConfigureAwait(false);

            // Returns after each notification; throws when the connection breaks (a terminated backend, a restart).
            while (true)
            {
                await connection.WaitAsync(ct).ConfigureAwait(false);
            }
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    private async Task<string> ChannelAsync(CancellationToken ct)
    {
        if (_channel is { } known)
        {
            return known;
        }

        await using var command = _dataSource.CreateCommand("SELECT current_schema()");
        var schema = (string)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;

        // A channel name is an identifier: at most 63 bytes.
        var name = ChannelPrefix + schema;
        _channel = name.Length <= 63 ? name : name[..63];
        return _channel;
    }
}
