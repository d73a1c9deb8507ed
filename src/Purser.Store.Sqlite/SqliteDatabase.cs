using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Purser.Store.Sqlite;

/// <summary>
/// The one Purser database file: how it is opened and which schema version it has. Usage records and the budget
/// ledger share it, so every connection is opened here with the same settings.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    private SqliteDatabase(string path, string connectionString, int schemaVersion)
    {
        Path = path;
        _connectionString = connectionString;
        SchemaVersion = schemaVersion;
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>The schema version (<c>PRAGMA user_version</c>) after migrations were applied.</summary>
    public int SchemaVersion { get; }

    /// <summary>
    /// Creates the directory and file when missing, switches the file to WAL and applies pending migrations.
    /// Throws <see cref="InvalidOperationException"/> when the file was written by a newer Purser.
    /// </summary>
    public static SqliteDatabase Open(string path) => Open(path, SqliteSchema.Migrations);

    internal static SqliteDatabase Open(string path, IReadOnlyList<string> migrations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(migrations);

        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();

        using var connection = OpenConfigured(connectionString);

        // journal_mode is a property of the file (it persists) and cannot change inside a transaction.
        Execute(connection, "PRAGMA journal_mode=WAL;");
        var version = Migrate(connection, fullPath, migrations);
        return new SqliteDatabase(fullPath, connectionString, version);
    }

    /// <summary>An open connection with Purser's per-connection settings; the caller disposes it.</summary>
    public SqliteConnection OpenConnection() => OpenConfigured(_connectionString);

    private static SqliteConnection OpenConfigured(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();

            // synchronous=NORMAL in WAL mode keeps commits durable against process crashes and only risks the last
            // commits on power loss, in exchange for no fsync per commit.
            Execute(connection, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static int Migrate(SqliteConnection connection, string path, IReadOnlyList<string> migrations)
    {
        // IMMEDIATE takes the write lock before reading the version, so two processes opening the same new file
        // cannot both apply step 1.
        using var transaction = connection.BeginTransaction(deferred: false);
        var current = ReadUserVersion(connection, transaction);
        if (current > migrations.Count)
        {
            throw new InvalidOperationException(
                $"The database '{path}' has schema version {current}, but this Purser build only knows versions up to "
                + $"{migrations.Count}. It was written by a newer Purser: upgrade Purser or point it at another file.");
        }

        if (current == migrations.Count)
        {
            return current;
        }

        for (var step = current; step < migrations.Count; step++)
        {
            Execute(connection, migrations[step], transaction);
        }

        // PRAGMA takes no parameters; the value is an integer we produced.
        Execute(connection, "PRAGMA user_version = " + migrations.Count.ToString(CultureInfo.InvariantCulture) + ";", transaction);
        transaction.Commit();
        return migrations.Count;
    }

    private static int ReadUserVersion(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
