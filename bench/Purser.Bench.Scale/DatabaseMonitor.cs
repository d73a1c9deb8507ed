using System.Globalization;
using Npgsql;

namespace Purser.Bench.Scale;

/// <summary>
/// One connection of the driver's own, outside every instance's pool: it creates and drops the run's schema, reads
/// <c>pg_stat_database</c> for the run's database and samples the number of client connections. It counts its own
/// statements, so that the run's transaction figure can leave them out.
/// </summary>
internal sealed class DatabaseMonitor : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _statements;

    private DatabaseMonitor(NpgsqlConnection connection) => _connection = connection;

    /// <summary>Statements this monitor ran so far (each a transaction of its own).</summary>
    public long Statements => Interlocked.Read(ref _statements);

    public static async Task<DatabaseMonitor> OpenAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, ApplicationName = "purser-bench-scale-monitor" };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        return new DatabaseMonitor(connection);
    }

    public Task ExecuteAsync(string sql) => RunAsync<int>(sql, static async command => await command.ExecuteNonQueryAsync().ConfigureAwait(false));

    public Task<long> ScalarAsync(string sql) =>
        RunAsync(sql, static async command => Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false), CultureInfo.InvariantCulture));

    /// <summary>The database's committed and rolled-back transactions, and rows inserted, updated and deleted, so far.</summary>
    public Task<DatabaseCounters> ReadAsync() => RunAsync(
        "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database();",
        static async command =>
        {
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            await reader.ReadAsync().ConfigureAwait(false);
            return new DatabaseCounters(reader.GetInt64(0), reader.GetInt64(1));
        });

    /// <summary>
    /// Reads the counters once they stopped moving: a backend reports its statistics at most once a second while it
    /// works, and when it goes idle or exits, so the figures lag the work by a second or so.
    /// </summary>
    public async Task<DatabaseCounters> ReadSettledAsync(TimeProvider time)
    {
        var last = await ReadAsync().ConfigureAwait(false);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(700), time).ConfigureAwait(false);
            var now = await ReadAsync().ConfigureAwait(false);

            // This monitor's own earlier reads show up as they are reported: a difference of one or two is them.
            if (now.Transactions - last.Transactions <= 2 && now.RowsWritten == last.RowsWritten)
            {
                return now;
            }

            last = now;
        }

        return last;
    }

    /// <summary>Client connections open on the run's database right now (every instance's pooled connections, and this one).</summary>
    public Task<long> ConnectionsAsync() =>
        ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend';");

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task<T> RunAsync<T>(string sql, Func<NpgsqlCommand, Task<T>> run)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _statements);
            await using var command = new NpgsqlCommand(sql, _connection);
            return await run(command).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
