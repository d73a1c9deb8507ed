using Purser.Configuration;
using Purser.Pricing;

namespace Purser.RateLimits;

/// <summary>
/// Rate limits created through the admin API, checked by the file's own rate_limits rules: the body is parsed as that
/// section's entry would be (JSON is YAML), against the file's organisation, teams and aliases and every key.
/// </summary>
public static class RateLimitEntries
{
    /// <summary>The <see cref="ConfigError.Source"/> of errors in stored definitions.</summary>
    public const string Source = "admin-api";

    /// <summary>
    /// The parsed limit, or the errors that name each wrong field ("rate_limits.&lt;id&gt;.&lt;field&gt;"). A body the admin
    /// API is sent is read <paramref name="strict"/>ly: a value of the wrong JSON type is an error naming the field.
    /// </summary>
    public static (RateLimitDefinition? Limit, IReadOnlyList<ConfigError> Errors) Parse(PurserConfig file, IEnumerable<string> keyIds, string id, string definition, bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(keyIds);
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(definition);
        var parser = new ConfigParser(Source, static _ => null, PriceCatalog.Default, strict);
        var limit = parser.ParseStoredRateLimit(file, keyIds, id, definition);
        return (parser.Errors.Count == 0 ? limit : null, parser.Errors.ToArray());
    }
}
