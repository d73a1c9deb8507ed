using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class StorageConfigTests
{
    [Fact]
    public void Postgres_connection_string_is_read_with_its_password_from_the_environment()
    {
        var config = ParseValid(
            """
            storage:
              postgres: "Host=db.internal;Username=purser;Password=${PGPASSWORD};Database=purser"
            """,
            new Dictionary<string, string> { ["PGPASSWORD"] = "s3cret" });

        Assert.Equal("Host=db.internal;Username=purser;Password=s3cret;Database=purser", config.Storage.Postgres);
    }

    [Fact]
    public void Leases_are_off_by_default_and_read_with_their_maximum_slice()
    {
        Assert.False(ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n").Storage.Leases);
        var config = ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n  leases: true\n  lease_max_usd: 0.25\n");
        Assert.True(config.Storage.Leases);
        Assert.Equal(Purser.Pricing.Money.FromUsd(0.25m), config.Storage.LeaseMax);
    }

    [Fact]
    public void Leases_without_postgres_are_an_error_with_field_and_line()
    {
        var error = SingleError("storage:\n  sqlite_path: purser.db\n  leases: true\n");
        Assert.Equal("storage.leases", error.Field);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Without_postgres_the_storage_is_the_sqlite_file_alone()
    {
        Assert.Null(ParseValid("storage:\n  sqlite_path: purser.db\n").Storage.Postgres);
    }

    [Theory]
    [InlineData("postgresql://purser:pw@db/purser", "a URL is not accepted")]
    [InlineData("Host=db;purser", "expected keyword=value pairs")]
    [InlineData("\"\"", "must not be empty")]
    public void Malformed_postgres_setting_is_an_error_with_field_and_line(string value, string message)
    {
        var error = SingleError($"""
            server:
              listen: http://127.0.0.1:8080
            storage:
              postgres: {value}
            """);

        Assert.Equal("storage.postgres", error.Field);
        Assert.Equal(4, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_environment_variable_in_postgres_is_an_error()
    {
        var error = SingleError("storage:\n  postgres: \"Host=db;Password=${NOPE_PG_PASSWORD}\"\n");

        Assert.Equal("storage.postgres", error.Field);
        Assert.Contains("NOPE_PG_PASSWORD", error.Message, StringComparison.Ordinal);
    }
}
