using System.Net.Sockets;
using Npgsql;

namespace Purser.Store.Postgres.Tests;

public sealed class PostgresErrorsTests
{
    [Theory]
    [InlineData("57P01")] // admin_shutdown: the server is stopping
    [InlineData("57P02")] // crash_shutdown
    [InlineData("57P03")] // cannot_connect_now: starting up or in recovery
    [InlineData("08006")] // connection_failure
    [InlineData("53300")] // too_many_connections
    public void Outages_are_unavailable(string sqlState)
        => Assert.True(PostgresErrors.IsUnavailable(new PostgresException("m", "FATAL", "FATAL", sqlState)));

    [Theory]
    [InlineData("40P01")] // deadlock_detected: the lock order rules it out, so it is a bug
    [InlineData("40001")] // serialization_failure
    [InlineData("23505")] // unique_violation
    [InlineData("42P01")] // undefined_table
    public void Bugs_are_not_unavailable(string sqlState)
        => Assert.False(PostgresErrors.IsUnavailable(new PostgresException("m", "ERROR", "ERROR", sqlState)));

    [Fact]
    public void A_network_failure_raised_by_Npgsql_is_unavailable()
        => Assert.True(PostgresErrors.IsUnavailable(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))));
}
