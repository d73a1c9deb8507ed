using Purser.Pricing;

namespace Purser.Gateway.Routing;

/// <summary>
/// What is left of one request's hold for its sub-calls (panel members, judge, route attempts). Each attempt takes its
/// worst case before it is sent and gives back what it did not spend, so the sum of everything charged — attempts that
/// failed after reaching the provider included — never exceeds the hold, and so never a cap. A route stops failing
/// over when the next target's worst case no longer fits.
/// </summary>
internal sealed class SpendAllowance
{
    private readonly Lock _lock = new();
    private Money _left;

    public SpendAllowance(Money amount) => _left = amount;

    /// <summary>An allowance without a bound (a call that holds nothing has nothing to keep within).</summary>
    public static SpendAllowance Unbounded() => new(new Money(long.MaxValue / 4));

    public Money Left
    {
        get
        {
            lock (_lock)
            {
                return _left;
            }
        }
    }

    public bool TryTake(Money worstCase)
    {
        lock (_lock)
        {
            if (worstCase > _left)
            {
                return false;
            }

            _left -= worstCase;
            return true;
        }
    }

    /// <summary>Gives back the part of a taken worst case that was not charged.</summary>
    public void Return(Money taken, Money charged)
    {
        lock (_lock)
        {
            _left += Money.Max(Money.Zero, taken - charged);
        }
    }
}
