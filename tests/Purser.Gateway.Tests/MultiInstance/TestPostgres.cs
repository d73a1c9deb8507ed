using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// A fresh, empty PostgreSQL database for one test: on the server of <c>PURSER_TEST_POSTGRES</c> (which
/// <c>./scripts/test.sh</c> starts), or on a private cluster of this test's own when it must stop and restart the
/// server (other test projects use the shared server at the same time). A database of its own also makes
/// <c>pg_stat_database</c> count only this test's transactions. Dropped (or deleted) at the end.
/// </summary>
internal sealed class TestPostgres : IAsyncDisposable
{
    private const string Variable = "PURSER_TEST_POSTGRES";

    private readonly string _adminConnection;
    private readonly string _name;
    private readonly PrivateCluster? _cluster;

    private TestPostgres(string adminConnection, string name, PrivateCluster? cluster)
    {
        _adminConnection = adminConnection;
        _name = name;
        _cluster = cluster;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnection) { Database = name, MaxPoolSize = 10 }.ConnectionString;
    }

    /// <summary>The test database; each gateway gets it with its own pool size.</summary>
    public string ConnectionString { get; }

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Variable} is not set: run ./scripts/test.sh, which starts a temporary PostgreSQL and sets it.");

    public static async Task<TestPostgres> CreateOnSharedServerAsync()
    {
        var name = "purser_mi_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync(ServerConnectionString, $"CREATE DATABASE {name};");
        return new TestPostgres(ServerConnectionString, name, null);
    }

    /// <summary>A cluster of this test's own (initdb in a temporary directory), which it may stop and start.</summary>
    public static async Task<TestPostgres> CreatePrivateClusterAsync()
    {
        var cluster = await PrivateCluster.CreateAsync();
        var admin = $"Host=127.0.0.1;Port={cluster.Port};Username=postgres;Database=postgres;Timeout=5";
        await ExecuteAsync(admin, "CREATE DATABASE purser_mi;");
        return new TestPostgres(admin, "purser_mi", cluster);
    }

    public Task StopServerAsync() => _cluster!.StopAsync();

    public Task StartServerAsync() => _cluster!.StartAsync();

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task<List<object[]>> RowsAsync(string sql)
    {
        var rows = new List<object[]>();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Transactions committed and rolled back in this database so far (from the server's statistics).</summary>
    public async Task<long> TransactionsAsync()
    {
        await using var connection = new NpgsqlConnection(_adminConnection);
        await connection.OpenAsync();

        // Statistics are read in a snapshot cached per transaction; clear it so this call sees the latest counts.
        await using (var clear = new NpgsqlCommand("SELECT pg_stat_clear_snapshot();", connection))
        {
            await clear.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1;", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _name });
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
            return;
        }

        await ExecuteAsync(_adminConnection, $"DROP DATABASE IF EXISTS {_name} WITH (FORCE);");
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// initdb + pg_ctl from the directory of <c>PURSER_TEST_PG_CTL</c>, run as <c>PURSER_TEST_PG_USER</c> (PostgreSQL
    /// refuses to run as root) through runuser, on a free loopback port, without durability (deleted at the end).
    /// </summary>
    private sealed class PrivateCluster : IAsyncDisposable
    {
        private readonly string _directory;
        private readonly string _bin;
        private readonly string? _user;

        private PrivateCluster(string directory, string bin, string? user, int port)
        {
            _directory = directory;
            _bin = bin;
            _user = user;
            Port = port;
        }

        public int Port { get; }

        public static async Task<PrivateCluster> CreateAsync()
        {
            var pgCtl = Environment.GetEnvironmentVariable("PURSER_TEST_PG_CTL") is { Length: > 0 } ctl
                ? ctl
                : throw new InvalidOperationException("PURSER_TEST_PG_CTL is not set: run ./scripts/test.sh, which exports pg_ctl's path for the tests that stop PostgreSQL.");
            var user = Environment.GetEnvironmentVariable("PURSER_TEST_PG_USER") is { Length: > 0 } u ? u : null;

            // Under /tmp, not $TMPDIR: the postgres user must be able to reach it.
            var directory = Path.Combine("/tmp", "purser-mi-pg-" + Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(directory);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(directory, (UnixFileMode)0x1ff);
            }
            var port = FreePort();
            var cluster = new PrivateCluster(directory, Path.GetDirectoryName(pgCtl)!, user, port);
            await cluster.RunAsync("initdb", "-D", Path.Combine(directory, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N");
            await cluster.StartAsync();
            return cluster;
        }

        public Task StartAsync() => RunAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "30",
            "-o", $"-c listen_addresses=127.0.0.1 -p {Port} -k {_directory} -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", "start");

        /// <summary>A fast shutdown: open transactions are rolled back and every client connection is cut.</summary>
        public Task StopAsync() => RunAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "fast", "-w", "-t", "30", "stop");

        public async ValueTask DisposeAsync()
        {
            if (File.Exists(Path.Combine(_directory, "data", "postmaster.pid")))
            {
                await RunAsync("pg_ctl", "-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop");
            }

            Directory.Delete(_directory, recursive: true);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private async Task RunAsync(string tool, params string[] arguments)
        {
            var path = Path.Combine(_bin, tool);
            var start = _user is null ? new ProcessStartInfo(path, arguments) : new ProcessStartInfo("runuser", ["-u", _user, "--", path, .. arguments]);
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60), TimeProvider.System);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {await stdout}{await stderr}");
            }
        }
    }
}
