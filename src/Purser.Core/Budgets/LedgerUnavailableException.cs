namespace Purser.Budgets;

/// <summary>
/// Thrown by an <see cref="IBudgetLedger"/> (and the stores beside it) when its database cannot be reached or refused
/// the work for a reason that may pass: connection refused or lost, a timeout, the server shutting down or out of
/// connections. It is the one exception a caller is expected to handle, by failing closed (the gateway answers 503)
/// and trying again later; any other exception from a ledger is a bug. Whether an operation that failed this way took
/// effect is unknown: settlement is idempotent and may be repeated, a reservation must be retried with a new hold id
/// (its hold, if it was taken, expires and is charged in full, then corrected by a late settle).
/// </summary>
public sealed class LedgerUnavailableException : Exception
{
    public LedgerUnavailableException()
    {
    }

    public LedgerUnavailableException(string message)
        : base(message)
    {
    }

    public LedgerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
