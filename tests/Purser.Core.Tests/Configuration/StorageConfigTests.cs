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
    public void Leases_are_on_by_default_with_postgres_can_be_turned_off_and_read_with_their_maximum_slice()
    {
        Assert.True(ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n").Storage.Leases);
        Assert.False(ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n  leases: false\n").Storage.Leases);
        var config = ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n  leases: true\n  lease_max_usd: 0.25\n");
        Assert.True(config.Storage.Leases);
        Assert.Equal(Purser.Pricing.Money.FromUsd(0.25m), config.Storage.LeaseMax);
    }

    [Fact]
    public void Leases_are_the_default_on_sqlite_alone_too_and_leases_false_opts_out_to_per_request_holds()
    {
        // The quickstart names no ledger option at all: it gets the lease ledger (issue 18).
        Assert.True(ParseValid("").Storage.Leases);
        Assert.True(ParseValid("storage:\n  sqlite_path: purser.db\n").Storage.Leases);
        Assert.False(ParseValid("storage:\n  sqlite_path: purser.db\n  leases: false\n").Storage.Leases);
        var config = ParseValid("storage:\n  sqlite_path: purser.db\n  leases: true\n  lease_max_usd: 0.5\n");
        Assert.True(config.Storage.Leases);
        Assert.Null(config.Storage.Postgres);
        Assert.Equal(Purser.Pricing.Money.FromUsd(0.5m), config.Storage.LeaseMax);
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
    [Fact]
    public void Fail_open_is_off_by_default_and_read_with_its_local_cap_on_either_store()
    {
        Assert.Null(ParseValid("storage:\n  sqlite_path: purser.db\n").Storage.FailOpenLocalCap);
        Assert.Equal(Purser.Pricing.Money.FromUsd(2.5m), ParseValid("storage:\n  sqlite_path: purser.db\n  fail_open:\n    local_cap_usd: 2.5\n").Storage.FailOpenLocalCap);
        Assert.Equal(Purser.Pricing.Money.FromUsd(0.1m), ParseValid("storage:\n  postgres: \"Host=db;Database=purser\"\n  fail_open: { local_cap_usd: 0.1 }\n").Storage.FailOpenLocalCap);
    }

    [Theory]
    [InlineData("  fail_open:\n    local_cap_usd: -1\n", "storage.fail_open.local_cap_usd", 3, "positive USD")]
    [InlineData("  fail_open:\n    local_cap_usd: lots\n", "storage.fail_open.local_cap_usd", 3, "positive USD")]
    [InlineData("  fail_open:\n    local_cap_usd: 0\n", "storage.fail_open.local_cap_usd", 3, "positive USD")]
    [InlineData("  fail_open: true\n", "storage.fail_open", 2, "")]
    [InlineData("  fail_open:\n    cap: 1\n", "storage.fail_open", 3, "unknown field 'cap'")]
    public void Bad_fail_open_setting_is_an_error_with_field_and_line(string yaml, string field, int line, string message)
    {
        var result = Parse("storage:\n" + yaml);
        Assert.False(result.Success);
        var error = Assert.Single(result.Errors, e => e.Field == field);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
