using Purser.Pricing;

namespace Purser.Core.Tests.Pricing;

public sealed class MoneyTests
{
    [Theory]
    [InlineData("0.25", 250_000_000)]
    [InlineData("0.000000001", 1)]
    [InlineData("12", 12_000_000_000)]
    [InlineData("-1.5", -1_500_000_000)]
    [InlineData("9223372036.854775807", long.MaxValue)]
    public void TryParseUsd_is_exact(string text, long nano)
    {
        Assert.True(Money.TryParseUsd(text, out var money));
        Assert.Equal(nano, money.NanoUsd);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("0.0000000001")]
    [InlineData("1.2345678901")]
    [InlineData("1e3")]
    [InlineData("9223372037")]
    public void TryParseUsd_rejects_non_numbers_more_than_nine_decimals_and_overflow(string? text)
    {
        Assert.False(Money.TryParseUsd(text, out var money));
        Assert.Equal(Money.Zero, money);
    }

    [Fact]
    public void FromUsd_rejects_fractions_of_a_nano_dollar()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Money.FromUsd(0.0000000005m));
        Assert.Equal(1, Money.FromUsd(0.000000001m).NanoUsd);
    }

    [Theory]
    [InlineData(250_000_000, "0.25")]
    [InlineData(1, "0.000000001")]
    [InlineData(3_000_000_000, "3")]
    [InlineData(0, "0")]
    public void ToString_prints_plain_decimal_usd(long nano, string expected)
    {
        Assert.Equal(expected, new Money(nano).ToString());
    }

    [Fact]
    public void Arithmetic_and_comparison_are_exact_and_checked()
    {
        var a = Money.FromUsd(0.1m);
        var b = Money.FromUsd(0.2m);

        Assert.Equal(Money.FromUsd(0.3m), a + b);
        Assert.Equal(Money.FromUsd(-0.1m), a - b);
        Assert.True(a < b);
        Assert.Equal(b, Money.Max(a, b));
        Assert.Equal(a, Money.Min(a, b));
        Assert.Throws<OverflowException>(() => new Money(long.MaxValue) + new Money(1));
    }
}
