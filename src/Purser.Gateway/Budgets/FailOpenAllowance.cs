using Purser.Pricing;

namespace Purser.Gateway.Budgets;

/// <summary>
/// The explicit fail-open option (<c>storage.fail_open.local_cap_usd</c>): while the ledger is unreachable, this
/// instance may still admit requests against an in-memory allowance of <see cref="LocalCap"/> per outage, each
/// holding its worst case until it settles at its actual cost. Once the allowance is used up the gateway fails closed.
/// The ledger never sees this spend (only the usage records do), so the overshoot of any cap is bounded by the local
/// cap × the number of instances, per outage.
/// </summary>
internal sealed class FailOpenAllowance
{
    /// <summary>The usage record's <c>degraded</c> value and the caller's <c>x-budget-degraded</c> header.</summary>
    public const string Marker = "fail_open";

    /// <summary>
    /// Failures closer together than this are one outage. Measured from the last failure, not from a success: with
    /// leases, requests drawn on a local lease succeed while the database is still down.
    /// </summary>
    public static readonly TimeSpan OutageGap = TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Money _held;
    private Money _spent;
    private DateTimeOffset? _lastFailure;

    public FailOpenAllowance(Money localCap, TimeProvider time)
    {
        LocalCap = localCap;
        _time = time;
    }

    public Money LocalCap { get; }

    /// <summary>Worst cases of fail-open requests still running.</summary>
    public Money Held
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>Actual cost of the fail-open requests of the current outage that have settled.</summary>
    public Money Spent
    {
        get
        {
            lock (_lock)
            {
                return _spent;
            }
        }
    }

    /// <summary>
    /// Called when the ledger could not be reached: holds <paramref name="worstCase"/> against the allowance when it
    /// fits (spent + held + worst case ≤ local cap) and returns true; false means fail closed.
    /// </summary>
    public bool TryHold(Money worstCase)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            // A new outage starts with a fresh allowance; requests still running from an earlier one keep their holds.
            if (_lastFailure is not { } last || now - last >= OutageGap)
            {
                _spent = Money.Zero;
            }

            _lastFailure = now;
            if (_spent + _held + worstCase > LocalCap)
            {
                return false;
            }

            _held += worstCase;
            return true;
        }
    }

    /// <summary>Releases a fail-open request's worst case and charges its actual cost (at most its worst case).</summary>
    public void Settle(Money worstCase, Money actual)
    {
        lock (_lock)
        {
            _held -= worstCase;
            _spent += actual;
        }
    }
}
