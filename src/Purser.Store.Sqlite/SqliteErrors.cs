using Microsoft.Data.Sqlite;
using Purser.Budgets;

namespace Purser.Store.Sqlite;

/// <summary>
/// Tells "the database cannot be used for now" from bugs, at the store boundary, so the gateway sees one outage type
/// (<see cref="LedgerUnavailableException"/>) whichever store it runs on and fails closed or open as configured.
/// Unavailable: the file is locked by another process past the busy timeout (BUSY, LOCKED), the disk or the file
/// failed (IOERR, FULL, CANTOPEN, NOMEM, PROTOCOL) or became read-only (READONLY). Anything else (a constraint, a
/// schema mismatch, misuse) is a bug and stays a <see cref="SqliteException"/>.
/// </summary>
internal static class SqliteErrors
{
    public const string Unavailable = "The SQLite ledger is unavailable: ";

    private const int Busy = 5;
    private const int Locked = 6;
    private const int NoMemory = 7;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Full = 13;
    private const int CannotOpen = 14;
    private const int Protocol = 15;

    /// <summary>The primary result code (the low byte of an extended code) names an outage.</summary>
    public static bool IsUnavailable(SqliteException e) => (e.SqliteErrorCode & 0xFF) is Busy or Locked or NoMemory or ReadOnly or IoError or Full or CannotOpen or Protocol;

    public static LedgerUnavailableException Wrap(SqliteException e) => new(Unavailable + e.Message, e);
}
