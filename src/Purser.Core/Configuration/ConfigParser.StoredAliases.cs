using System.Globalization;
using Purser.Admin;
using Purser.Ensembles;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration;

/// <summary>
/// Routing and ensemble aliases created through the admin API, checked by the very rules of the file's routes and
/// ensembles sections: each definition is parsed as that section's entry would be (JSON is YAML), against the file's
/// models, routes and ensembles plus the other stored aliases.
/// </summary>
internal sealed partial class ConfigParser
{
    /// <summary>
    /// One pass over <paramref name="stored"/> (none of which may share a name with the file's aliases). Returns the
    /// file's routes and ensembles joined with the stored ones that passed, and the aliases that did not.
    /// </summary>
    internal (Dictionary<string, RouteConfig> Routes, Dictionary<string, EnsembleConfig> Ensembles, HashSet<string> Failed, IReadOnlyList<ConfigError> Errors) ParseStored(
        PurserConfig file, IReadOnlyList<StoredAlias> stored)
    {
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
            var before = errors.Count;
            if (ensembleNames.Contains(alias.Alias))
            {
                Error(null, path, $"'{alias.Alias}' is already an ensemble alias");
            }

            var body = Definition(alias.Definition, path);
            var route = body is null ? null : ParseRoute(new YamlScalarNode(alias.Alias), body, modelAliases, lookup);
            if (route is not null && errors.Count == before)
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
            if (Cycle(alias, routes, []) is { } cycle && cycle[0] == alias)
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

            var before = errors.Count;
            var body = Definition(alias.Definition, "ensembles." + alias.Alias);
            var ensemble = body is null ? null : ParseEnsemble(new YamlScalarNode(alias.Alias), body, modelAliases, routeNames, lookup);
            if (ensemble is not null && errors.Count == before)
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

        return (routes, ensembles, failed, errors.ToArray());
    }

    /// <summary>The one mapping a stored definition holds; a body that is not one is an error on the alias.</summary>
    private YamlNode? Definition(string text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            Error(ex.Start.Line, path, SyntaxMessage(ex.Message));
            return null;
        }
        catch (InvalidOperationException)
        {
            Error(null, path, "invalid JSON (an unclosed '{' or '[' perhaps)");
            return null;
        }

        if (stream.Documents.Count != 1)
        {
            Error(null, path, "expected one object, found " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture) + " documents");
            return null;
        }

        return stream.Documents[0].RootNode;
    }
}
