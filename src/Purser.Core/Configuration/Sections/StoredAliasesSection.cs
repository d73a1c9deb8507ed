using Purser.Admin;
using Purser.Ensembles;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>
/// Routing and ensemble aliases created through the admin API, checked by the very rules of the file's routes and
/// ensembles sections: each definition is read as that section's entry would be, against the file's models, routes and
/// ensembles plus the other stored aliases.
/// </summary>
internal sealed class StoredAliasesSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    /// <summary>
    /// One pass over <paramref name="stored"/> (none of which may share a name with the file's aliases). Returns the
    /// file's routes and ensembles joined with the stored ones that passed, and the aliases that did not.
    /// </summary>
    internal (Dictionary<string, RouteConfig> Routes, Dictionary<string, EnsembleConfig> Ensembles, HashSet<string> Failed, IReadOnlyList<ConfigError> Errors) ParseStored(
        PurserConfig file, IReadOnlyList<StoredAlias> stored)
    {
        var aliases = new ComposedAliasesSection(Diagnostics);
        var models = new Dictionary<string, ModelConfig>(file.Models, StringComparer.Ordinal);
        var modelAliases = new HashSet<string>(file.Models.Keys, StringComparer.Ordinal);
        var routeNames = new HashSet<string>(file.Routes.Keys, StringComparer.Ordinal);
        var ensembleNames = new HashSet<string>(file.Ensembles.Keys, StringComparer.Ordinal);
        foreach (var alias in stored)
        {
            (alias.Kind == AliasKind.Route ? routeNames : ensembleNames).Add(alias.Alias);
        }

        var lookup = new ComposedAliases(models, routeNames, ensembleNames);
        var routes = new Dictionary<string, RouteConfig>(file.Routes, StringComparer.Ordinal);
        var ensembles = new Dictionary<string, EnsembleConfig>(file.Ensembles, StringComparer.Ordinal);
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var storedRoutes = new List<string>();
        foreach (var alias in stored)
        {
            if (alias.Kind != AliasKind.Route)
            {
                continue;
            }

            var path = "routes." + alias.Alias;
            var before = ErrorCount;
            if (ensembleNames.Contains(alias.Alias))
            {
                Error(null, path, $"'{alias.Alias}' is already an ensemble alias");
            }

            var body = Definition(alias.Definition, path);
            var route = body is null ? null : aliases.ParseRoute(new YamlScalarNode(alias.Alias), body, modelAliases, lookup);
            if (route is not null && ErrorCount == before)
            {
                routes[alias.Alias] = route;
                storedRoutes.Add(alias.Alias);
            }
            else
            {
                failed.Add(alias.Alias);
            }
        }

        foreach (var alias in storedRoutes)
        {
            if (ComposedAliasesSection.Cycle(alias, routes, []) is { } cycle && cycle[0] == alias)
            {
                Error(null, "routes." + alias + ".targets", "alias cycle: " + string.Join(" -> ", cycle));
                failed.Add(alias);
            }
        }

        foreach (var alias in stored)
        {
            if (alias.Kind != AliasKind.Ensemble)
            {
                continue;
            }

            var before = ErrorCount;
            var body = Definition(alias.Definition, "ensembles." + alias.Alias);
            var ensemble = body is null ? null : aliases.ParseEnsemble(new YamlScalarNode(alias.Alias), body, modelAliases, routeNames, lookup);
            if (ensemble is not null && ErrorCount == before)
            {
                ensembles[alias.Alias] = ensemble;
            }
            else
            {
                failed.Add(alias.Alias);
            }
        }

        foreach (var alias in failed)
        {
            routes.Remove(alias);
            ensembles.Remove(alias);
        }

        return (routes, ensembles, failed, Diagnostics.Errors.ToArray());
    }
}
