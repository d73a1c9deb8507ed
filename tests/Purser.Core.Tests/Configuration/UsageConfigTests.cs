using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class UsageConfigTests
{
    [Fact]
    public void Records_are_kept_for_ever_unless_a_retention_is_set()
    {
        Assert.Null(ParseValid("storage:\n  sqlite_path: purser.db\n").Usage.RetentionDays);
        Assert.Equal(30, ParseValid("usage:\n  retention_days: 30\n").Usage.RetentionDays);
        Assert.Equal(1, ParseValid("usage:\n  retention_days: 1\n").Usage.RetentionDays);
    }

    [Theory]
    [InlineData("usage:\n  retention_days: 0\n", "usage.retention_days", "between 1 and 3650")]
    [InlineData("usage:\n  retention_days: -7\n", "usage.retention_days", "between 1 and 3650")]
    [InlineData("usage:\n  retention_days: 3651\n", "usage.retention_days", "between 1 and 3650")]
    [InlineData("usage:\n  retention_days: 1.5\n", "usage.retention_days", "whole number")]
    [InlineData("usage:\n  retention_days: forever\n", "usage.retention_days", "whole number")]
    [InlineData("usage:\n  retention: 30\n", "usage", "retention")]
    [InlineData("usage: 30\n", "usage", "")]
    public void An_invalid_retention_is_an_error_naming_the_field(string yaml, string field, string message)
    {
        var error = SingleError(yaml);

        Assert.Equal(field, error.Field);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
