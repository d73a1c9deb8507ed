using System.Collections.Frozen;
using Purser.Admin;
using Purser.Pricing;

namespace Purser.Configuration;

/// <summary>
/// Joins routing and ensemble aliases created through the admin API with the configuration file, by the file loader's
/// own rules (members and judges exist and are chat models or routes, no route cycles, caps non-negative,
/// min_responses within the panel). The file wins on a name clash.
/// </summary>
public static class StoredAliases
{
    /// <summary>The <see cref="ConfigError.Source"/> of errors in stored definitions.</summary>
    public const string Source = "admin-api";

    /// <summary>The error path prefix of an alias: "routes.&lt;alias&gt;" or "ensembles.&lt;alias&gt;".</summary>
    public static string PathOf(AliasKind kind, string alias) => (kind == AliasKind.Route ? "routes." : "ensembles.") + alias;

    /// <summary>Whether the file defines <paramref name="alias"/> as a model, route or ensemble.</summary>
    public static bool InFile(PurserConfig file, string alias)
    {
        ArgumentNullException.ThrowIfNull(file);
        return file.Models.ContainsKey(alias) || file.Routes.ContainsKey(alias) || file.Ensembles.ContainsKey(alias);
    }

    /// <summary>
    /// Every stored alias valid against the file and the other valid ones. An invalid one is dropped and the rest
    /// checked again, so that an ensemble naming a dropped route is dropped too rather than served broken.
    /// </summary>
    public static StoredAliasResult Compose(PurserConfig file, IReadOnlyList<StoredAlias> stored)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(stored);
        var candidates = new List<StoredAlias>(stored.Count);
        foreach (var alias in stored)
        {
            if (!InFile(file, alias.Alias))
            {
                candidates.Add(alias);
            }
        }

        var dropped = new List<ConfigError>();

        // Each round drops at least one alias, so this ends after at most stored.Count + 1 rounds.
        while (true)
        {
            var (routes, ensembles, failed, errors) = Parser().ParseStored(file, candidates);
            if (failed.Count == 0)
            {
                var config = candidates.Count == 0
                    ? file
                    : file with { Routes = routes.ToFrozenDictionary(StringComparer.Ordinal), Ensembles = ensembles.ToFrozenDictionary(StringComparer.Ordinal) };
                return new StoredAliasResult(config, candidates, dropped);
            }

            dropped.AddRange(errors);
            candidates.RemoveAll(a => failed.Contains(a.Alias));
        }
    }

    /// <summary>
    /// The errors of <paramref name="stored"/> against the file, those of <paramref name="focus"/> first (empty when all
    /// are valid). Used before the admin API writes or deletes an alias; a body it is sent is read <paramref name="strict"/>ly
    /// (a value of the wrong JSON type is an error naming the field).
    /// </summary>
    public static IReadOnlyList<ConfigError> Validate(PurserConfig file, IReadOnlyList<StoredAlias> stored, AliasKind focusKind, string focus, bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        var (_, _, _, errors) = Parser(strict).ParseStored(file, stored);
        var path = PathOf(focusKind, focus);
        var ordered = new List<ConfigError>(errors.Count);
        foreach (var error in errors)
        {
            if (IsUnder(error.Field, path))
            {
                ordered.Add(error);
            }
        }

        foreach (var error in errors)
        {
            if (!IsUnder(error.Field, path))
            {
                ordered.Add(error);
            }
        }

        return ordered;
    }

    /// <summary>"ensembles.x.panel[1]" under "ensembles.x" → "panel[1]"; the alias itself → "".</summary>
    public static string? FieldUnder(string field, string path)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(path);
        return !IsUnder(field, path) ? null : field.Length == path.Length ? "" : field[(path.Length + (field[path.Length] == '.' ? 1 : 0))..];
    }

    private static bool IsUnder(string field, string path) =>
        field.StartsWith(path, StringComparison.Ordinal) && (field.Length == path.Length || field[path.Length] is '.' or '[');

    private static ConfigParser Parser(bool strict = false) => new(Source, static _ => null, PriceCatalog.Default, strict);
}
