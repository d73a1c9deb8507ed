using Npgsql;
using Purser.Budgets;

namespace Purser.Store.Postgres;

/// <summary>
/// One PostgreSQL database (and schema, the first of the connection's search path) shared by every gateway instance:
/// its connection pool and its schema version. <see cref="Open"/> creates and migrates the schema at start-up.
/// </summary>
public sealed class PostgresDatabase : IDisposable, IAsyncDisposable
{
    // pg_advisory_xact_lock's first key: "purs" in ASCII. The second is a hash of the schema, so that instances
    // migrating the same schema queue up while different schemas in one database migrate independently.
    private const int AdvisoryLockClass = 0x70757273;

    private readonly string _connectionString;

    private PostgresDatabase(NpgsqlDataSource dataSource, int schemaVersion, string connectionString)
    {
        DataSource = dataSource;
        SchemaVersion = schemaVersion;
        _connectionString = connectionString;
    }

    /// <summary>The schema version (the highest row of <c>schema_version</c>) after migrations were applied.</summary>
    public int SchemaVersion { get; }

    internal NpgsqlDataSource DataSource { get; }

    /// <summary>
    /// Connects, then applies pending migrations in one transaction under an advisory lock, so several instances
    /// starting together apply each step once. Throws <see cref="LedgerUnavailableException"/> when the server cannot
    /// be reached and <see cref="InvalidOperationException"/> when the schema was written by a newer Purser.
    /// </summary>
    public static PostgresDatabase Open(string connectionString) => Open(connectionString, PostgresSchema.Migrations);

    internal static PostgresDatabase Open(string connectionString, IReadOnlyList<string> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(migrations);

        var builder = new NpgsqlDataSourceBuilder(connectionString);

        // Every statement is parameterised and reused; auto-preparation turns the frequent ones into server-side
        // prepared statements on each pooled connection, unless the connection string chose otherwise.
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 32;
        }

        // Purser keeps no session state (no SET, temporary tables or session advisory locks), so resetting a connection
        // on its way back to the pool is pure overhead: seven statements before the next command, each a transaction of
        // its own on the server. Off unless the connection string asks for it.
        if (!connectionString.Contains("No Reset On Close", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("NoResetOnClose", StringComparison.OrdinalIgnoreCase))
        {
            builder.ConnectionStringBuilder.NoResetOnClose = true;
        }

        var dataSource = builder.Build();
        try
        {
            var version = PostgresErrors.Run(() => Migrate(dataSource, migrations));
            return new PostgresDatabase(dataSource, version, connectionString);
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A data source of unpooled connections for a long-lived LISTEN, which must never go back to the pool still
    /// listening; <paramref name="applicationName"/> names it in <c>pg_stat_activity</c>.
    /// </summary>
    internal NpgsqlDataSource CreateListenerSource(string applicationName)
    {
        var builder = new NpgsqlDataSourceBuilder(_connectionString);
        builder.ConnectionStringBuilder.Pooling = false;
        builder.ConnectionStringBuilder.ApplicationName = applicationName;

        // A listener that only reads notices a silently dropped connection only through TCP keepalives.
        if (builder.ConnectionStringBuilder.KeepAlive == 0)
        {
            builder.ConnectionStringBuilder.KeepAlive = 10;
        }

        return builder.Build();
    }

    public void Dispose() => DataSource.Dispose();

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

    private static int Migrate(NpgsqlDataSource dataSource, IReadOnlyList<string> migrations)
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();

        var schema = Scalar(connection, "SELECT current_schema();") as string
            ?? throw new InvalidOperationException(
                "PostgreSQL has no schema to create Purser's tables in: the connection's search path names no existing schema.");

        // Held until commit: a second instance waits here, then finds the steps already applied.
        using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, hashtext($2));", connection))
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = AdvisoryLockClass });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = schema });
            command.ExecuteNonQuery();
        }

        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());");
        var current = Scalar(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_version;") is int v ? v : 0;
        if (current > migrations.Count)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL schema '{schema}' has version {current}, but this Purser build only knows versions up to "
                + $"{migrations.Count}. It was written by a newer Purser: upgrade Purser or point it at another schema.");
        }

        for (var step = current; step < migrations.Count; step++)
        {
            Execute(connection, migrations[step]);
            using var record = new NpgsqlCommand("INSERT INTO schema_version (version) VALUES ($1);", connection);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = step + 1 });
            record.ExecuteNonQuery();
        }

        transaction.Commit();
        return migrations.Count;
    }

    private static object? Scalar(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
