using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Purser.Pricing;

/// <summary>
/// An exact amount of US dollars, in nano-dollars (1e-9 USD). Money is never a floating-point value:
/// prices, holds and spend are added and compared as integers so that a cap holds to the last nano-dollar.
/// </summary>
public readonly record struct Money(long NanoUsd) : IComparable<Money>
{
    public const long NanoPerUsd = 1_000_000_000;

    public static readonly Money Zero = new(0);

    public static Money FromUsd(decimal usd)
    {
        var nano = usd * NanoPerUsd;
        if (nano != decimal.Truncate(nano))
        {
            throw new ArgumentOutOfRangeException(nameof(usd), usd, "Amounts are exact to the nano-dollar.");
        }

        return new Money(checked((long)nano));
    }

    /// <summary>Parses a decimal USD amount such as "0.25" exactly; rejects more than nine decimals.</summary>
    /// <summary>The largest amount in USD that fits a long of nano-dollars.</summary>
    private const decimal MaxUsd = long.MaxValue / 1_000_000_000m;

    public static bool TryParseUsd(string? text, out Money value)
    {
        value = Zero;
        if (string.IsNullOrWhiteSpace(text)
            || !decimal.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var usd))
        {
            return false;
        }

        // Checked before multiplying: a decimal past ~7.9e19 USD would overflow the product, not just the long.
        if (usd > MaxUsd || usd < -MaxUsd)
        {
            return false;
        }

        var nano = usd * NanoPerUsd;
        if (nano != decimal.Truncate(nano) || nano > long.MaxValue || nano < long.MinValue)
        {
            return false;
        }

        value = new Money((long)nano);
        return true;
    }

    public decimal ToUsd() => (decimal)NanoUsd / NanoPerUsd;

    /// <summary>Formats as a plain decimal USD string with no trailing zeros beyond what is needed ("0.000125").</summary>
    public override string ToString() => ToUsd().ToString("0.#########", CultureInfo.InvariantCulture);

    public static Money operator +(Money a, Money b) => new(checked(a.NanoUsd + b.NanoUsd));

    public static Money operator -(Money a, Money b) => new(checked(a.NanoUsd - b.NanoUsd));

    public static bool operator <(Money a, Money b) => a.NanoUsd < b.NanoUsd;

    public static bool operator >(Money a, Money b) => a.NanoUsd > b.NanoUsd;

    public static bool operator <=(Money a, Money b) => a.NanoUsd <= b.NanoUsd;

    public static bool operator >=(Money a, Money b) => a.NanoUsd >= b.NanoUsd;

    public static Money Max(Money a, Money b) => a.NanoUsd >= b.NanoUsd ? a : b;

    public static Money Min(Money a, Money b) => a.NanoUsd <= b.NanoUsd ? a : b;

    public int CompareTo(Money other) => NanoUsd.CompareTo(other.NanoUsd);

    public Money Add(Money other) => this + other;

    public Money Subtract(Money other) => this - other;

    [SuppressMessage("Usage", "CA2225", Justification = "Named alternates exist.")]
    public static Money FromNano(long nano) => new(nano);
}
