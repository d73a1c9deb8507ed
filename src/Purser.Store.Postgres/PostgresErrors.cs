using Npgsql;
using Purser.Budgets;

namespace Purser.Store.Postgres;

/// <summary>
/// Tells "the database is unreachable or refused for now" from bugs: Npgsql marks the first kind transient (network
/// and timeout failures, server shutdown, too many connections), and those become
/// <see cref="LedgerUnavailableException"/>; everything else propagates unchanged.
/// </summary>
internal static class PostgresErrors
{
    public const string Unavailable = "The PostgreSQL ledger is unavailable: ";

    public static T Run<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (NpgsqlException e) when (e.IsTransient)
        {
            throw Wrap(e);
        }
    }

    public static LedgerUnavailableException Wrap(NpgsqlException e) => new(Unavailable + e.Message, e);
}
