using System.Globalization;
using Purser.Budgets;
using Purser.Keys;
using Purser.Pricing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>
/// What every section type shares: reading one node as a scalar, list or mapping of known fields, each error with its
/// field path and line (or JSON path, for an admin body) into the one <see cref="ConfigDiagnostics"/> of a parse, so
/// that one run reports everything. A section adds its own rules and builds its immutable value.
/// </summary>
internal abstract class SectionReader
{
    protected SectionReader(ConfigDiagnostics diagnostics)
    {
        Diagnostics = diagnostics;
    }

    internal ConfigDiagnostics Diagnostics { get; }

    protected int ErrorCount => Diagnostics.Errors.Count;

    protected void Error(long? line, string field, string message) => Diagnostics.Error(line, field, message);

    /// <summary>
    /// A scope (<c>org:</c>, <c>team:</c>, <c>key:</c>, …) checked against what the configuration defines, for every
    /// section that names one: another organisation, an undeclared team or an unknown key is an error on
    /// <paramref name="path"/>; a task scope is refused with <paramref name="taskRefusal"/>, or taken when it is null.
    /// </summary>
    protected ScopeRef? ParseScope(ConfigScalar text, string path, string expected, string organization, HashSet<string> teams, HashSet<string> keys, string unknownKeyHint, string? taskRefusal)
    {
        if (!ScopeRef.TryParse(text.Value, out var parsed))
        {
            Error(text.Line, path, $"expected {expected}, got {text.Describe()}");
            return null;
        }

        var scope = parsed.Value;
        switch (scope.Kind)
        {
            case ScopeKind.Organization when scope.Id != organization:
                Error(text.Line, path, $"{text.Describe()} is not this organisation (organization: {organization})");
                return null;
            case ScopeKind.Team when !teams.Contains(scope.Id):
                Error(text.Line, path, $"unknown team in {text.Describe()} (define it under teams:)");
                return null;
            case ScopeKind.Key when !keys.Contains(scope.Id):
                Error(text.Line, path, $"unknown key in {text.Describe()}{unknownKeyHint}");
                return null;
            case ScopeKind.Task when taskRefusal is not null:
                Error(text.Line, path, taskRefusal);
                return null;
            default:
                return scope;
        }
    }

    /// <summary>The one mapping a stored definition (JSON text, which YAML reads) holds; a body that is not one is an error on <paramref name="path"/>.</summary>
    protected YamlNode? Definition(string text, string path) => Diagnostics.Definition(text, path);

    protected bool TryInteger(YamlNode node, string path, long min, long max, out long value)
    {
        value = 0;
        if (!TryScalar(node, path, out var text, ScalarKind.Number))
        {
            return false;
        }

        if (!long.TryParse(text.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            Error(text.Line, path, $"expected a whole number, got {text.Describe()}");
            return false;
        }

        if (value < min || value > max)
        {
            var range = max == long.MaxValue || max == int.MaxValue
                ? "must be at least " + min.ToString(CultureInfo.InvariantCulture)
                : $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}";
            Error(text.Line, path, $"{range}, got {text.Describe()}");
            return false;
        }

        return true;
    }

    protected bool TryBool(YamlNode node, string path, out bool value)
    {
        value = false;
        if (!TryScalar(node, path, out var text, ScalarKind.Bool))
        {
            return false;
        }

        if (!bool.TryParse(text.Value, out value))
        {
            Error(text.Line, path, $"expected true or false, got {text.Describe()}");
            return false;
        }

        return true;
    }

    protected bool TryHttpUrl(YamlNode node, string path, out ConfigScalar url)
    {
        if (!TryScalar(node, path, out url))
        {
            return false;
        }

        if (!Uri.TryCreate(url.Value, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0)
        {
            Error(url.Line, path, $"expected an absolute http:// or https:// URL, got {url.Describe()}");
            return false;
        }

        return true;
    }

    protected bool TryHash(YamlNode node, string path, out string hash)
    {
        hash = string.Empty;
        if (!TryScalar(node, path, out var text))
        {
            return false;
        }

        // Never echo the value: an operator who pasted the secret itself here must not see it in a log.
        if (!KeyHashFormat.IsValid(text.Value))
        {
            Error(text.Line, path, "expected 'sha256:' followed by 64 lowercase hex digits (purser can hash a key for you)");
            return false;
        }

        hash = text.Value;
        return true;
    }

    protected bool TryTimestamp(YamlNode node, string path, out DateTimeOffset value)
    {
        value = default;
        if (!TryScalar(node, path, out var text))
        {
            return false;
        }

        if (!ConfigText.HasExplicitOffset(text.Value)
            || !DateTimeOffset.TryParse(text.Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out value))
        {
            Error(text.Line, path, $"expected an ISO 8601 date-time with offset such as 2027-01-01T00:00:00Z, got {text.Describe()}");
            return false;
        }

        return true;
    }

    protected bool TryNonEmpty(YamlNode node, string path, out ConfigScalar scalar)
    {
        if (!TryScalar(node, path, out scalar))
        {
            return false;
        }

        if (scalar.Value.Length == 0)
        {
            Error(scalar.Line, path, "must not be empty");
            return false;
        }

        return true;
    }

    /// <summary>
    /// Reads one scalar and expands ${VAR} in it. In a JSON body (<see cref="ConfigDiagnostics.Strict"/>) the value must
    /// also be of the JSON type <paramref name="kind"/> asks for, and is taken literally: YAML reads "60" and 60 alike,
    /// JSON does not, and a wrong type is an error naming the field, never a value dropped or converted.
    /// </summary>
    protected bool TryScalar(YamlNode node, string path, out ConfigScalar scalar, ScalarKind kind = ScalarKind.Text)
    {
        scalar = default;
        if (node is not YamlScalarNode { Value: { } raw } leaf)
        {
            Error(node.Start.Line, path, $"expected a single value, got {Describe(node)}");
            return false;
        }

        if (Diagnostics.Strict)
        {
            var json = JsonTypeOf(leaf);
            var fits = kind switch
            {
                ScalarKind.Text => json == "a string",
                ScalarKind.Number => json == "a number",
                ScalarKind.Bool => json == "a boolean",
                _ => json is "a number" or "a string",
            };
            if (!fits)
            {
                var expected = kind switch
                {
                    ScalarKind.Text => "a string",
                    ScalarKind.Number => "a whole number",
                    ScalarKind.Bool => "true or false",
                    _ => "a number or a decimal string",
                };
                Error(node.Start.Line, path, $"expected {expected}, got {json}");
                return false;
            }

            scalar = new ConfigScalar(raw, node.Start.Line, null);
            return true;
        }

        var variables = new List<string>();
        var problems = new List<string>();
        var value = EnvInterpolation.Expand(raw, Diagnostics.Environment, variables, problems);
        foreach (var problem in problems)
        {
            Error(node.Start.Line, path, problem);
        }

        if (value is null)
        {
            return false;
        }

        var from = variables.Count == 0 ? null : "${" + string.Join("}, ${", variables) + "}";
        scalar = new ConfigScalar(value, node.Start.Line, from);
        return true;
    }

    /// <summary>The JSON type of a scalar of a JSON text read as YAML: quoted is a string, plain is a literal.</summary>
    private static string JsonTypeOf(YamlScalarNode leaf) => leaf.Style switch
    {
        ScalarStyle.DoubleQuoted or ScalarStyle.SingleQuoted => "a string",
        _ => leaf.Value switch
        {
            "true" or "false" => "a boolean",
            "null" => "null",
            _ => "a number",
        },
    };

    protected bool TryMapping(YamlNode node, string path, out YamlMappingNode map)
    {
        if (node is YamlMappingNode m)
        {
            map = m;
            return true;
        }

        map = null!;
        if (IsNull(node))
        {
            // "providers:" with nothing under it reads as an empty section.
            map = new YamlMappingNode();
            return true;
        }

        Error(node.Start.Line, path, $"expected a mapping (field: value), got {Describe(node)}");
        return false;
    }

    protected bool TrySequence(YamlNode node, string path, out YamlSequenceNode sequence)
    {
        if (node is YamlSequenceNode s)
        {
            sequence = s;
            return true;
        }

        sequence = null!;
        if (IsNull(node))
        {
            sequence = new YamlSequenceNode();
            return true;
        }

        Error(node.Start.Line, path, $"expected a list, got {Describe(node)}");
        return false;
    }

    /// <summary>The entries of a name → body mapping (providers, models, prices), skipping keys that are not plain names.</summary>
    protected List<(YamlScalarNode Name, YamlNode Body)> Entries(YamlMappingNode map, string path)
    {
        var entries = new List<(YamlScalarNode, YamlNode)>(map.Children.Count);
        foreach (var (key, value) in map.Children)
        {
            if (key is YamlScalarNode { Value: not null } name)
            {
                entries.Add((name, value));
            }
            else
            {
                Error(key.Start.Line, path, "names must be plain text");
            }
        }

        return entries;
    }

    /// <summary>The fields of an object mapping by name; unknown names are errors and null values count as absent.</summary>
    protected Dictionary<string, YamlNode> Fields(YamlMappingNode map, string path, string[] allowed)
    {
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                Error(key.Start.Line, path, "field names must be plain text");
                continue;
            }

            if (Array.IndexOf(allowed, name) < 0)
            {
                var suggestion = ConfigText.ClosestField(name, allowed);
                Error(key.Start.Line, path, suggestion is null ? $"unknown field '{name}'" : $"unknown field '{name}' (did you mean '{suggestion}'?)");
                continue;
            }

            if (!IsNull(value))
            {
                fields[name] = value;
            }
        }

        return fields;
    }

    /// <summary>A decimal USD amount, exact to the nano-dollar as <see cref="Money.FromUsd"/> requires, and not negative.</summary>
    protected bool TryUsd(YamlNode node, string path, out Money money)
    {
        money = Money.Zero;
        if (!TryScalar(node, path, out var text, ScalarKind.Amount))
        {
            return false;
        }

        if (!decimal.TryParse(text.Value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var usd))
        {
            Error(text.Line, path, $"expected a decimal number of USD, got {text.Describe()}");
            return false;
        }

        if (usd < 0)
        {
            Error(text.Line, path, "must not be negative");
            return false;
        }

        // Checked first: Money.TryParseUsd overflows decimal (and throws) on amounts above about 7.9e19 USD.
        if (usd > long.MaxValue / Money.NanoPerUsd || !Money.TryParseUsd(text.Value, out money))
        {
            Error(text.Line, path, "more than 9 decimal places or too large: amounts are exact to the nano-dollar");
            return false;
        }

        return true;
    }

    protected static bool IsNull(YamlNode node) => ConfigDiagnostics.IsNull(node);

    protected static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };
}
