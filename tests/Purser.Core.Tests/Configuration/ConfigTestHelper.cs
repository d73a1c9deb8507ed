using Purser.Configuration;
using Purser.Pricing;

namespace Purser.Core.Tests.Configuration;

internal static class ConfigTestHelper
{
    public static ConfigLoadResult Parse(string yaml, Dictionary<string, string>? environment = null)
    {
        var env = environment ?? [];
        return ConfigLoader.Parse(yaml, "purser.yaml", name => env.TryGetValue(name, out var value) ? value : null, PriceCatalog.Default);
    }

    public static PurserConfig ParseValid(string yaml, Dictionary<string, string>? environment = null)
    {
        var result = Parse(yaml, environment);
        Assert.True(result.Success, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    /// <summary>The single error of a file that should have exactly one.</summary>
    public static ConfigError SingleError(string yaml, Dictionary<string, string>? environment = null)
    {
        var result = Parse(yaml, environment);
        Assert.False(result.Success);
        Assert.Null(result.Config);
        return Assert.Single(result.Errors);
    }

    public static string Hash(char c) => "sha256:" + new string(c, 64);
}
