using System.Collections.Frozen;
using System.Globalization;
using Purser.Admin;
using Purser.Configuration.Sections;
using Purser.Ensembles;
using Purser.Pricing;
using Purser.RateLimits;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration;

/// <summary>
/// The YAML reader: loads the document (line numbers, duplicate fields and syntax errors come from here), checks the
/// root's section names and hands each section's node to its section type (<c>Sections/</c>), which validates it,
/// reports every error with its path and line, and builds the immutable value. It keeps going after an error so one
/// run reports everything; any error means no config. Admin bodies are read by the same section types
/// (<see cref="ParseStored"/>, <see cref="ParseStoredRateLimit"/>, and the entry readers the admin services call).
/// </summary>
internal sealed class ConfigParser
{
    private static readonly string[] RootFields = ["server", "storage", "organization", "teams", "providers", "prices", "models", "routes", "ensembles", "keys", "budgets", "rate_limits", "bedtime", "telemetry", "usage"];

    private readonly ConfigDiagnostics diagnostics;
    private readonly PriceCatalog catalog;

    /// <param name="strict">The text is an admin JSON body: values must have their JSON type (see <see cref="ConfigDiagnostics.Strict"/>).</param>
    public ConfigParser(string source, Func<string, string?> environment, PriceCatalog catalog, bool strict = false)
    {
        diagnostics = new ConfigDiagnostics(source, environment) { Strict = strict };
        this.catalog = catalog;
    }

    internal IReadOnlyList<ConfigError> Errors => diagnostics.Errors;

    internal ConfigDiagnostics Diagnostics => diagnostics;

    public ConfigLoadResult Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            diagnostics.Error(ex.Start.Line, string.Empty, ConfigDiagnostics.SyntaxMessage(ex.Message));
            return Result(null);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some malformed flow collections instead of a YamlException.
            diagnostics.Error(null, string.Empty, "invalid YAML (an unclosed '{' or '[' perhaps)");
            return Result(null);
        }

        if (stream.Documents.Count == 0)
        {
            return Result(new PurserConfig());
        }

        if (stream.Documents.Count > 1)
        {
            diagnostics.Error(stream.Documents[1].RootNode.Start.Line, string.Empty, "expected one YAML document, found " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture));
        }

        var root = stream.Documents[0].RootNode;
        if (ConfigDiagnostics.IsNull(root))
        {
            return Result(new PurserConfig());
        }

        var rootReader = new RootSection(diagnostics);
        if (rootReader.Sections(root, RootFields) is not { } sections)
        {
            return Result(null);
        }

        var d = diagnostics;
        var server = sections.TryGetValue("server", out var serverNode) ? new ServerSection(d).Read(serverNode) : new ServerConfig();
        var storage = sections.TryGetValue("storage", out var storageNode) ? new StorageSection(d).Read(storageNode) : new StorageConfig();
        var declaredProviders = new HashSet<string>(StringComparer.Ordinal);
        var providers = sections.TryGetValue("providers", out var providersNode)
            ? new ProvidersSection(d).Read(providersNode, declaredProviders)
            : new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        var prices = sections.TryGetValue("prices", out var pricesNode) ? new PricesSection(d, catalog).Read(pricesNode) : catalog;
        var declaredAliases = new HashSet<string>(StringComparer.Ordinal);
        var models = sections.TryGetValue("models", out var modelsNode)
            ? new ModelsSection(d).Read(modelsNode, declaredProviders, prices, declaredAliases)
            : new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        var teamsSection = new TeamsSection(d);
        var organization = sections.TryGetValue("organization", out var organizationNode) ? teamsSection.ReadOrganization(organizationNode) : TeamsSection.DefaultOrganization;
        var declaredTeams = new HashSet<string>(StringComparer.Ordinal);
        var teams = sections.TryGetValue("teams", out var teamsNode)
            ? teamsSection.Read(teamsNode, declaredTeams)
            : new Dictionary<string, TeamConfig>(StringComparer.Ordinal);
        var (routes, ensembles) = new ComposedAliasesSection(d).Read(sections, models, declaredAliases);
        var callable = ComposedAliasesSection.CallableAliases(declaredAliases, routes, ensembles);
        var declaredKeys = new HashSet<string>(StringComparer.Ordinal);
        var keys = sections.TryGetValue("keys", out var keysNode) ? new KeysSection(d).Read(keysNode, callable, declaredTeams, declaredKeys) : [];
        var scopes = new BudgetScopes(organization, declaredTeams, declaredKeys, declaredAliases, models);
        var budgets = sections.TryGetValue("budgets", out var budgetsNode) ? new BudgetsSection(d).Read(budgetsNode, scopes) : [];
        var rateLimits = sections.TryGetValue("rate_limits", out var rateLimitsNode)
            ? new RateLimitsSection(d).Read(rateLimitsNode, new RateLimitScopes(organization, declaredTeams, declaredKeys, callable))
            : [];
        var bedtime = sections.TryGetValue("bedtime", out var bedtimeNode) ? new BedtimeSection(d).Read(bedtimeNode, organization, declaredTeams, declaredKeys, models) : [];
        var telemetry = sections.TryGetValue("telemetry", out var telemetryNode) ? new TelemetrySection(d).Read(telemetryNode) : new TelemetryConfig();
        var usage = sections.TryGetValue("usage", out var usageNode) ? new UsageSection(d).Read(usageNode) : new UsageConfig();

        return Result(new PurserConfig
        {
            Telemetry = telemetry,
            Usage = usage,
            Server = server,
            Storage = storage,
            Providers = providers.ToFrozenDictionary(StringComparer.Ordinal),
            Models = models.ToFrozenDictionary(StringComparer.Ordinal),
            Keys = keys,
            Organization = organization,
            Teams = teams.ToFrozenDictionary(StringComparer.Ordinal),
            Budgets = budgets,
            RateLimits = rateLimits,
            Routes = routes.ToFrozenDictionary(StringComparer.Ordinal),
            Ensembles = ensembles.ToFrozenDictionary(StringComparer.Ordinal),
            Bedtime = bedtime,
        });
    }

    /// <summary>Stored routes and ensembles against the file (see <see cref="StoredAliasesSection"/>).</summary>
    internal (Dictionary<string, RouteConfig> Routes, Dictionary<string, EnsembleConfig> Ensembles, HashSet<string> Failed, IReadOnlyList<ConfigError> Errors) ParseStored(
        PurserConfig file, IReadOnlyList<StoredAlias> stored) => new StoredAliasesSection(diagnostics).ParseStored(file, stored);

    /// <summary>A rate limit sent to the admin API, by the rate_limits section's rules.</summary>
    internal RateLimitDefinition? ParseStoredRateLimit(PurserConfig file, IEnumerable<string> keyIds, string id, string definition) =>
        new RateLimitsSection(diagnostics).ParseStoredRateLimit(file, keyIds, id, definition);

    private ConfigLoadResult Result(PurserConfig? config)
    {
        if (diagnostics.Errors.Count == 0 && config is not null)
        {
            return new ConfigLoadResult(config, []);
        }

        var sorted = diagnostics.Errors.OrderBy(e => e.Line ?? 0).ToArray();
        return new ConfigLoadResult(null, sorted);
    }
}
