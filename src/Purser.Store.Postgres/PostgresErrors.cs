using Npgsql;
using Purser.Budgets;

namespace Purser.Store.Postgres;

/// <summary>
/// Tells "the database is unreachable or refused for now" from bugs. Unavailable, becoming
/// <see cref="LedgerUnavailableException"/>: failures Npgsql raises itself and marks transient (connection refused or
/// lost, timeouts), and server errors of class 08 (connection), 53 (insufficient resources: too many connections, disk
/// full) and 57P01–57P03 (the server shutting down, crashed or starting). Npgsql's own transient list is not used for
/// server errors: it omits shutdowns, and it includes deadlocks and serialization failures, which the ledger's lock
/// order rules out, so one would be a bug to see rather than an outage to wait out.
/// </summary>
internal static class PostgresErrors
{
    public const string Unavailable = "The PostgreSQL ledger is unavailable: ";

    public static bool IsUnavailable(NpgsqlException e) => e switch
    {
        PostgresException { SqlState: var state } => state.StartsWith("08", StringComparison.Ordinal)
            || state.StartsWith("53", StringComparison.Ordinal)
            || state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow,
        _ => e.IsTransient,
    };

    public static T Run<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (NpgsqlException e) when (IsUnavailable(e))
        {
            throw Wrap(e);
        }
    }

    /// <summary>Runs an asynchronous database operation, turning an outage into <see cref="LedgerUnavailableException"/>.</summary>
    public static async Task<T> RunAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (IsUnavailable(e))
        {
            throw Wrap(e);
        }
    }

    public static LedgerUnavailableException Wrap(NpgsqlException e) => new(Unavailable + e.Message, e);
}
