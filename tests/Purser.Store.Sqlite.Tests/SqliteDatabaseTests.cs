using Microsoft.Data.Sqlite;

namespace Purser.Store.Sqlite.Tests;

public sealed class SqliteDatabaseTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Fresh_database_gets_current_user_version_wal_and_connection_settings()
    {
        var db = SqliteDatabase.Open(_dir.File("nested/deeper/purser.db"));

        Assert.True(File.Exists(db.Path));
        Assert.Equal(SqliteSchema.Migrations.Count, db.SchemaVersion);
        Assert.Equal(SqliteSchema.Migrations.Count, TestRecords.Scalar(db, "PRAGMA user_version;"));
        Assert.Equal(1, TestRecords.Scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'usage_records';"));
        using var connection = db.OpenConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "PRAGMA synchronous;";
        Assert.Equal(1L, command.ExecuteScalar()); // NORMAL
        command.CommandText = "PRAGMA busy_timeout;";
        Assert.Equal(5000L, command.ExecuteScalar());
    }

    [Fact]
    public void Reopening_keeps_data_and_does_not_rerun_migrations()
    {
        var path = _dir.File("purser.db");
        var first = SqliteDatabase.Open(path);
        using (var connection = first.OpenConnection())
        {
            TestRecords.Execute(connection, "INSERT INTO usage_records (request_id, timestamp, key_id, model_alias, provider, upstream_model, operation, input_tokens, output_tokens, "
                + "cached_input_tokens, cache_write_tokens, cost_nano, status, error_code, latency_ms, streamed, source, task_scope, degraded) VALUES ('r1', 1, 'k', 'm', 'p', 'u', 'chat', 1, 2, 0, 0, 5, 200, NULL, 3, 0, 0, NULL, NULL);");
        }

        // Step 1 is a plain CREATE TABLE: running it again would throw "table already exists".
        var second = SqliteDatabase.Open(path);

        Assert.Equal(first.SchemaVersion, second.SchemaVersion);
        Assert.Equal(1, TestRecords.Scalar(second, "SELECT count(*) FROM usage_records;"));
    }

    [Fact]
    public void Upgrade_applies_only_the_steps_after_the_stored_version()
    {
        var path = _dir.File("custom.db");
        string[] v1 = ["CREATE TABLE t (n INTEGER NOT NULL);"];
        string[] v2 = [.. v1, "INSERT INTO t VALUES (42);"];

        Assert.Equal(1, SqliteDatabase.Open(path, v1).SchemaVersion);
        Assert.Equal(2, SqliteDatabase.Open(path, v2).SchemaVersion);
        var db = SqliteDatabase.Open(path, v2);

        Assert.Equal(2, db.SchemaVersion);
        Assert.Equal(1, TestRecords.Scalar(db, "SELECT count(*) FROM t;"));
    }

    [Fact]
    public void Failing_migration_step_leaves_the_file_at_its_old_version()
    {
        var path = _dir.File("broken.db");
        string[] steps = ["CREATE TABLE t (n INTEGER);", "THIS IS NOT SQL;"];

        Assert.Throws<SqliteException>(() => SqliteDatabase.Open(path, steps));

        var db = SqliteDatabase.Open(path, []);
        Assert.Equal(0, db.SchemaVersion);
        Assert.Equal(0, TestRecords.Scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 't';"));
    }

    [Fact]
    public void Database_from_a_newer_purser_is_refused_with_a_clear_message()
    {
        var path = _dir.File("newer.db");
        var db = SqliteDatabase.Open(path);
        using (var connection = db.OpenConnection())
        {
            TestRecords.Execute(connection, "PRAGMA user_version = 99;");
        }

        var error = Assert.Throws<InvalidOperationException>(() => SqliteDatabase.Open(path));

        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
        Assert.Contains($"up to {SqliteSchema.Migrations.Count}", error.Message, StringComparison.Ordinal);
        Assert.Contains("newer Purser", error.Message, StringComparison.Ordinal);
        Assert.Equal(99, TestRecords.Scalar(db, "PRAGMA user_version;"));
    }
}
