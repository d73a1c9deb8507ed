using Npgsql;

namespace Purser.Store.Postgres.Tests;

/// <summary>
/// A fresh, empty PostgreSQL schema for one test, in the database named by <c>PURSER_TEST_POSTGRES</c>, dropped at the
/// end. Connections to it put the schema first on the search path, so Purser's tables land there.
/// </summary>
public sealed class TestSchema : IAsyncDisposable
{
    public const string Variable = "PURSER_TEST_POSTGRES";

    private TestSchema(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    /// <summary>A connection string whose search path is this schema.</summary>
    public string ConnectionString { get; }

    /// <summary>
    /// The server's connection string. Fails (does not skip) when unset: these tests are part of the suite, and
    /// <c>./scripts/test.sh</c> always provides a server.
    /// </summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set, and the PostgreSQL store's tests need a server. Run ./scripts/test.sh, which starts a "
                + $"temporary PostgreSQL and sets it, or set {Variable} to the connection string of a database in which you "
                + "may create schemas, e.g. \"Host=127.0.0.1;Port=5432;Username=postgres;Database=purser_test\".");

    public static async Task<TestSchema> CreateAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(ServerConnectionString, $"CREATE SCHEMA {name};");
        var builder = new NpgsqlConnectionStringBuilder(ServerConnectionString)
        {
            SearchPath = name,

            // Several tests and gateway-like instances share one server: keep each pool small.
            MaxPoolSize = 30,
        };
        return new TestSchema(name, builder.ConnectionString);
    }

    public Task ExecuteAsync(string sql) => ExecuteAsync(ConnectionString, sql);

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync() => await ExecuteAsync(ServerConnectionString, $"DROP SCHEMA IF EXISTS {Name} CASCADE;");

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
