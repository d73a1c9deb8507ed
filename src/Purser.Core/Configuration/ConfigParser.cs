using System.Collections.Frozen;
using System.Globalization;
using Purser.Budgets;
using Purser.Keys;
using Purser.Pricing;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration;

/// <summary>
/// Maps YAML nodes to <see cref="PurserConfig"/> by hand so that every error carries an exact path and line and
/// unknown fields are errors. It keeps going after an error so one run reports everything; any error means no config.
/// </summary>
internal sealed partial class ConfigParser
{
    private const int DefaultMaxOutputTokens = 4096;
    private const int DefaultMaxTokensCeiling = 4096;

    private const string DefaultOrganization = "default";

    private static readonly string[] RootFields = ["server", "storage", "organization", "teams", "providers", "prices", "models", "routes", "ensembles", "keys", "budgets", "rate_limits", "bedtime", "telemetry", "usage"];
    private static readonly string[] ServerFields = ["listen", "max_body_bytes", "upstream_timeout_seconds", "admin_key_hash", "max_open_tasks_per_key", "anthropic_betas", "max_end_users_per_budget"];
    private static readonly string[] StorageFields = ["sqlite_path", "postgres", "leases", "lease_max_usd", "fail_open"];
    private static readonly string[] FailOpenFields = ["local_cap_usd"];
    private static readonly string[] ProviderFields = ["kind", "base_url", "api_key", "api_version", "responses"];
    private static readonly string[] ModelPriceFields = ["input", "output", "cached_input", "cache_write"];
    private static readonly string[] CatalogPriceFields = [.. ModelPriceFields, "max_output_tokens"];
    private static readonly string[] ModelFields = ["provider", "upstream", "kind", "price", "free", "max_output_tokens", "default_max_tokens", "reasoning"];
    private static readonly string[] KeyFields = ["id", "hash", "secret", "models", "expires_at", "team", "trust_end_user", "trust_tags"];
    private static readonly string[] TeamFields = [];

    private readonly string source;
    private readonly Func<string, string?> environment;
    private readonly PriceCatalog catalog;
    private readonly List<ConfigError> errors = [];

    public ConfigParser(string source, Func<string, string?> environment, PriceCatalog catalog)
    {
        this.source = source;
        this.environment = environment;
        this.catalog = catalog;
    }

    public ConfigLoadResult Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            Error(ex.Start.Line, string.Empty, SyntaxMessage(ex.Message));
            return Result(null);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some malformed flow collections instead of a YamlException.
            Error(null, string.Empty, "invalid YAML (an unclosed '{' or '[' perhaps)");
            return Result(null);
        }

        if (stream.Documents.Count == 0)
        {
            return Result(new PurserConfig());
        }

        if (stream.Documents.Count > 1)
        {
            Error(stream.Documents[1].RootNode.Start.Line, string.Empty, "expected one YAML document, found " + stream.Documents.Count.ToString(CultureInfo.InvariantCulture));
        }

        var root = stream.Documents[0].RootNode;
        if (IsNull(root))
        {
            return Result(new PurserConfig());
        }

        if (!TryMapping(root, string.Empty, out var rootMap))
        {
            return Result(null);
        }

        var sections = Fields(rootMap, string.Empty, RootFields);
        var server = sections.TryGetValue("server", out var serverNode) ? ParseServer(serverNode) : new ServerConfig();
        var storage = sections.TryGetValue("storage", out var storageNode) ? ParseStorage(storageNode) : new StorageConfig();
        var declaredProviders = new HashSet<string>(StringComparer.Ordinal);
        var providers = sections.TryGetValue("providers", out var providersNode)
            ? ParseProviders(providersNode, declaredProviders)
            : new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        var prices = sections.TryGetValue("prices", out var pricesNode) ? ParseCatalogOverrides(pricesNode) : catalog;
        var declaredAliases = new HashSet<string>(StringComparer.Ordinal);
        var models = sections.TryGetValue("models", out var modelsNode)
            ? ParseModels(modelsNode, declaredProviders, prices, declaredAliases)
            : new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        var organization = sections.TryGetValue("organization", out var organizationNode) ? ParseOrganization(organizationNode) : DefaultOrganization;
        var declaredTeams = new HashSet<string>(StringComparer.Ordinal);
        var teams = sections.TryGetValue("teams", out var teamsNode)
            ? ParseTeams(teamsNode, declaredTeams)
            : new Dictionary<string, TeamConfig>(StringComparer.Ordinal);
        var (routes, ensembles) = ParseComposedAliases(sections, models, declaredAliases);
        var declaredKeys = new HashSet<string>(StringComparer.Ordinal);
        var keys = sections.TryGetValue("keys", out var keysNode) ? ParseKeys(keysNode, CallableAliases(declaredAliases, routes, ensembles), declaredTeams, declaredKeys) : [];
        var scopes = new BudgetScopes(organization, declaredTeams, declaredKeys, declaredAliases, models);
        var budgets = sections.TryGetValue("budgets", out var budgetsNode) ? ParseBudgets(budgetsNode, scopes) : [];
        var rateLimits = sections.TryGetValue("rate_limits", out var rateLimitsNode)
            ? ParseRateLimits(rateLimitsNode, new RateLimitScopes(organization, declaredTeams, declaredKeys, CallableAliases(declaredAliases, routes, ensembles)))
            : [];
        var bedtime = sections.TryGetValue("bedtime", out var bedtimeNode) ? ParseBedtime(bedtimeNode, organization, declaredTeams, declaredKeys, models) : [];

        var telemetry = sections.TryGetValue("telemetry", out var telemetryNode) ? ParseTelemetry(telemetryNode) : new TelemetryConfig();
        var usage = sections.TryGetValue("usage", out var usageNode) ? ParseUsage(usageNode) : new UsageConfig();

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

    private ServerConfig ParseServer(YamlNode node)
    {
        var server = new ServerConfig();
        if (!TryMapping(node, "server", out var map))
        {
            return server;
        }

        var fields = Fields(map, "server", ServerFields);
        if (fields.TryGetValue("listen", out var listen) && TryHttpUrl(listen, "server.listen", out var listenUrl))
        {
            server = server with { Listen = listenUrl.Value };
        }

        if (fields.TryGetValue("max_body_bytes", out var maxBody) && TryInteger(maxBody, "server.max_body_bytes", 1, long.MaxValue, out var maxBodyBytes))
        {
            server = server with { MaxBodyBytes = maxBodyBytes };
        }

        if (fields.TryGetValue("upstream_timeout_seconds", out var timeout) && TryInteger(timeout, "server.upstream_timeout_seconds", 1, 3600, out var seconds))
        {
            server = server with { UpstreamTimeoutSeconds = (int)seconds };
        }

        if (fields.TryGetValue("admin_key_hash", out var adminHash) && TryHash(adminHash, "server.admin_key_hash", out var hash))
        {
            server = server with { AdminKeyHash = hash };
        }

        if (fields.TryGetValue("max_open_tasks_per_key", out var maxTasks) && TryInteger(maxTasks, "server.max_open_tasks_per_key", 1, 1_000_000, out var openTasks))
        {
            server = server with { MaxOpenTasksPerKey = (int)openTasks };
        }

        if (fields.TryGetValue("max_end_users_per_budget", out var maxUsersNode) && TryInteger(maxUsersNode, "server.max_end_users_per_budget", 1, 10_000_000, out var maxUsers))
        {
            server = server with { MaxEndUsersPerBudget = (int)maxUsers };
        }

        if (fields.TryGetValue("anthropic_betas", out var betasNode) && TrySequence(betasNode, "server.anthropic_betas", out var betas))
        {
            var allowed = new List<string>(betas.Children.Count);
            for (var i = 0; i < betas.Children.Count; i++)
            {
                if (TryNonEmpty(betas.Children[i], $"server.anthropic_betas[{i.ToString(CultureInfo.InvariantCulture)}]", out var beta))
                {
                    allowed.Add(beta.Value);
                }
            }

            server = server with { AnthropicBetas = allowed };
        }

        return server;
    }

    private StorageConfig ParseStorage(YamlNode node)
    {
        var storage = new StorageConfig();
        if (!TryMapping(node, "storage", out var map))
        {
            return storage;
        }

        var fields = Fields(map, "storage", StorageFields);
        if (fields.TryGetValue("sqlite_path", out var pathNode) && TryNonEmpty(pathNode, "storage.sqlite_path", out var path))
        {
            storage = storage with { SqlitePath = path.Value };
        }

        if (fields.TryGetValue("postgres", out var postgresNode))
        {
            storage = storage with { Postgres = ParsePostgres(postgresNode) };
        }

        // Leases are on by default with either store (the hot path pays no database round trip; `leases: false` opts out
        // to per-request holds). Budget reads stay exact for a single instance: its own leases' unused part is not counted.
        if (fields.TryGetValue("leases", out var leasesNode) && TryBool(leasesNode, "storage.leases", out var leases))
        {
            storage = storage with { Leases = leases };
        }

        if (fields.TryGetValue("lease_max_usd", out var maxNode) && TryScalar(maxNode, "storage.lease_max_usd", out var maxText))
        {
            if (Money.TryParseUsd(maxText.Value, out var max) && max > Money.Zero)
            {
                storage = storage with { LeaseMax = max };
            }
            else
            {
                Error(maxText.Line, "storage.lease_max_usd", $"expected a positive USD amount, got {maxText.Describe()}");
            }
        }

        if (fields.TryGetValue("fail_open", out var failOpenNode))
        {
            storage = storage with { FailOpenLocalCap = ParseFailOpen(failOpenNode) };
        }

        return storage;
    }

    /// <summary>storage.fail_open: { local_cap_usd } — absent means fail closed.</summary>
    private Money? ParseFailOpen(YamlNode node)
    {
        if (!TryMapping(node, "storage.fail_open", out var map))
        {
            return null;
        }

        var fields = Fields(map, "storage.fail_open", FailOpenFields);
        if (!fields.TryGetValue("local_cap_usd", out var capNode))
        {
            Error(node.Start.Line, "storage.fail_open.local_cap_usd", "is required (the USD one instance may spend per ledger outage)");
            return null;
        }

        if (!TryScalar(capNode, "storage.fail_open.local_cap_usd", out var capText))
        {
            return null;
        }

        if (Money.TryParseUsd(capText.Value, out var cap) && cap > Money.Zero)
        {
            return cap;
        }

        Error(capText.Line, "storage.fail_open.local_cap_usd", $"expected a positive USD amount, got {capText.Describe()}");
        return null;
    }

    private Dictionary<string, ProviderConfig> ParseProviders(YamlNode node, HashSet<string> declared)
    {
        var providers = new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "providers", out var map))
        {
            return providers;
        }

        foreach (var (nameNode, body) in Entries(map, "providers"))
        {
            var name = nameNode.Value ?? string.Empty;
            var path = "providers." + name;
            declared.Add(name);
            var before = errors.Count;
            if (!IsProviderName(name))
            {
                Error(nameNode.Start.Line, path, "provider names use only a-z, 0-9, '_' and '-'");
            }

            if (!TryMapping(body, path, out var fieldsMap))
            {
                continue;
            }

            var fields = Fields(fieldsMap, path, ProviderFields);
            ProviderKind? kind = null;
            if (!fields.TryGetValue("kind", out var kindNode))
            {
                Error(nameNode.Start.Line, path + ".kind", "is required (openai, anthropic or azure_openai)");
            }
            else if (TryScalar(kindNode, path + ".kind", out var kindText))
            {
                kind = kindText.Value.ToUpperInvariant() switch
                {
                    "OPENAI" => ProviderKind.OpenAI,
                    "ANTHROPIC" => ProviderKind.Anthropic,
                    "AZURE_OPENAI" => ProviderKind.AzureOpenAI,
                    _ => null,
                };
                if (kind is null)
                {
                    Error(kindText.Line, path + ".kind", $"unknown kind {kindText.Describe()} (expected openai, anthropic or azure_openai)");
                }
            }

            Uri? baseUrl = null;
            if (fields.TryGetValue("base_url", out var urlNode))
            {
                if (TryHttpUrl(urlNode, path + ".base_url", out var url))
                {
                    baseUrl = new Uri(url.Value, UriKind.Absolute);
                }
            }
            else if (kind == ProviderKind.AzureOpenAI)
            {
                Error(nameNode.Start.Line, path + ".base_url", "is required for azure_openai (the resource endpoint, e.g. https://my-resource.openai.azure.com)");
            }
            else if (kind is { } known)
            {
                baseUrl = new Uri(known == ProviderKind.Anthropic ? "https://api.anthropic.com/v1" : "https://api.openai.com/v1");
            }

            string? apiKey = null;
            if (fields.TryGetValue("api_key", out var keyNode) && TryScalar(keyNode, path + ".api_key", out var key) && key.Value.Length > 0)
            {
                apiKey = key.Value;
            }

            string? apiVersion = null;
            if (fields.TryGetValue("api_version", out var versionNode))
            {
                if (kind is { } notAzure && notAzure != ProviderKind.AzureOpenAI)
                {
                    Error(versionNode.Start.Line, path + ".api_version", "is only used by kind: azure_openai");
                }
                else if (TryScalar(versionNode, path + ".api_version", out var version))
                {
                    if (version.Value.Length == 0 || !version.Value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'))
                    {
                        Error(version.Line, path + ".api_version", $"{version.Describe()} is not an api-version (letters, digits, '-' and '.', e.g. 2024-10-21)");
                    }
                    else
                    {
                        apiVersion = version.Value;
                    }
                }
            }
            else if (kind == ProviderKind.AzureOpenAI)
            {
                Error(nameNode.Start.Line, path + ".api_version", "is required for azure_openai (e.g. 2024-10-21)");
            }

            // responses: false marks an OpenAI-compatible server without a Responses API (self-hosted servers, Gemini's
            // OpenAI endpoint): /v1/responses for its models is translated to Chat Completions and back.
            var responsesApi = true;
            if (fields.TryGetValue("responses", out var responsesNode) && TryBool(responsesNode, path + ".responses", out var speaksResponses))
            {
                if (kind == ProviderKind.Anthropic)
                {
                    Error(responsesNode.Start.Line, path + ".responses", "is only used by OpenAI-format providers (Anthropic's are always translated)");
                }
                else
                {
                    responsesApi = speaksResponses;
                }
            }

            if (errors.Count == before && kind is { } k && baseUrl is not null)
            {
                providers[name] = new ProviderConfig { Name = name, Kind = k, BaseUrl = baseUrl, ApiKey = apiKey, ApiVersion = apiVersion, ResponsesApi = responsesApi };
            }
        }

        return providers;
    }

    private PriceCatalog ParseCatalogOverrides(YamlNode node)
    {
        if (!TryMapping(node, "prices", out var map))
        {
            return catalog;
        }

        var overrides = new Dictionary<string, CatalogEntry>(StringComparer.Ordinal);
        foreach (var (nameNode, body) in Entries(map, "prices"))
        {
            var name = nameNode.Value ?? string.Empty;
            var path = "prices." + name;
            if (TryPrice(body, path, allowMaxOutput: true, out var price, out var maxOutput))
            {
                var known = catalog.TryGet(name, out var existing) ? existing : null;
                var inherited = known?.MaxOutputTokens ?? DefaultMaxOutputTokens;
                overrides[name] = new CatalogEntry(price, maxOutput ?? inherited, known?.ContextWindow, known?.Reasoning ?? false);
            }
        }

        return catalog.With(overrides);
    }

    private Dictionary<string, ModelConfig> ParseModels(YamlNode node, HashSet<string> providers, PriceCatalog prices, HashSet<string> declared)
    {
        var models = new Dictionary<string, ModelConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "models", out var map))
        {
            return models;
        }

        foreach (var (aliasNode, body) in Entries(map, "models"))
        {
            var alias = aliasNode.Value ?? string.Empty;
            var path = "models." + alias;
            declared.Add(alias);
            var before = errors.Count;
            if (alias.Length == 0 || alias.AsSpan().ContainsAny(" \t\r\n"))
            {
                Error(aliasNode.Start.Line, path, "a model alias must be non-empty and contain no whitespace");
            }

            if (!TryMapping(body, path, out var fieldsMap))
            {
                continue;
            }

            var fields = Fields(fieldsMap, path, ModelFields);
            string? provider = null;
            if (!fields.TryGetValue("provider", out var providerNode))
            {
                Error(aliasNode.Start.Line, path + ".provider", "is required");
            }
            else if (TryScalar(providerNode, path + ".provider", out var providerName))
            {
                if (providers.Contains(providerName.Value))
                {
                    provider = providerName.Value;
                }
                else
                {
                    Error(providerName.Line, path + ".provider", $"unknown provider {providerName.Describe()}");
                }
            }

            var upstream = alias;
            if (fields.TryGetValue("upstream", out var upstreamNode) && TryNonEmpty(upstreamNode, path + ".upstream", out var upstreamName))
            {
                upstream = upstreamName.Value;
            }

            var kind = ModelKind.Chat;
            if (fields.TryGetValue("kind", out var kindNode) && TryScalar(kindNode, path + ".kind", out var kindText))
            {
                switch (kindText.Value.ToUpperInvariant())
                {
                    case "CHAT":
                        kind = ModelKind.Chat;
                        break;
                    case "EMBEDDINGS":
                        kind = ModelKind.Embeddings;
                        break;
                    default:
                        Error(kindText.Line, path + ".kind", $"unknown kind {kindText.Describe()} (expected chat or embeddings)");
                        break;
                }
            }

            ModelPrice? explicitPrice = null;
            if (fields.TryGetValue("price", out var priceNode) && TryPrice(priceNode, path + ".price", allowMaxOutput: false, out var price, out _))
            {
                explicitPrice = price;
            }

            var free = false;
            if (fields.TryGetValue("free", out var freeNode) && TryBool(freeNode, path + ".free", out free) && free && priceNode is not null)
            {
                Error(freeNode.Start.Line, path + ".free", "conflicts with price: a model is either free or priced");
            }

            var known = prices.TryGet(upstream, out var entry) ? entry : null;

            var maxOutput = known is { MaxOutputTokens: > 0 } ? known.MaxOutputTokens : DefaultMaxOutputTokens;
            var maxOutputValid = true;
            if (fields.TryGetValue("max_output_tokens", out var maxNode))
            {
                maxOutputValid = TryInteger(maxNode, path + ".max_output_tokens", 1, int.MaxValue, out var max);
                maxOutput = maxOutputValid ? (int)max : maxOutput;
            }

            var defaultMax = Math.Min(DefaultMaxTokensCeiling, maxOutput);
            if (fields.TryGetValue("default_max_tokens", out var defaultNode) && TryInteger(defaultNode, path + ".default_max_tokens", 1, int.MaxValue, out var requested))
            {
                defaultMax = (int)requested;
                if (maxOutputValid && requested > maxOutput)
                {
                    Error(defaultNode.Start.Line, path + ".default_max_tokens", $"{requested.ToString(CultureInfo.InvariantCulture)} is above max_output_tokens ({maxOutput.ToString(CultureInfo.InvariantCulture)})");
                }
            }

            // Fail closed at load, not per request: every model here can serve a request (directly, or as a Bedtime or
            // budget degrade, a route target, an ensemble member or judge), and one with no price would be served and
            // recorded at $0 with no cap able to hold it.
            if (!free && explicitPrice is null && known is null && priceNode is null && errors.Count == before && provider is not null && providers.Contains(provider))
            {
                Error(aliasNode.Start.Line, path, $"the upstream model '{upstream}' has no price in the catalog: give price: {{ input, output }} (USD per million tokens) or free: true");
            }

            // A model the catalog does not know (a self-hosted or renamed reasoning model) is marked by the operator:
            // its hidden tokens cannot be counted from a stream, so a cut stream is charged its hold in full.
            var reasoning = known?.Reasoning ?? false;
            if (fields.TryGetValue("reasoning", out var reasoningNode) && TryBool(reasoningNode, path + ".reasoning", out var marked))
            {
                reasoning = marked;
            }

            if (errors.Count == before && provider is not null)
            {
                models[alias] = new ModelConfig
                {
                    Alias = alias,
                    Provider = provider,
                    UpstreamModel = upstream,
                    Kind = kind,
                    Price = free ? ModelPrice.Free : explicitPrice ?? known?.Price,
                    Free = free,
                    MaxOutputTokens = maxOutput,
                    DefaultMaxTokens = defaultMax,
                    ContextWindow = known?.ContextWindow,
                    Reasoning = reasoning,
                };
            }
        }

        return models;
    }

    private List<KeyConfig> ParseKeys(YamlNode node, HashSet<string> aliases, HashSet<string> teams, HashSet<string> declared)
    {
        var keys = new List<KeyConfig>();
        if (!TrySequence(node, "keys", out var sequence))
        {
            return keys;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "keys[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            var before = errors.Count;
            if (!TryMapping(sequence.Children[i], path, out var map))
            {
                continue;
            }

            var line = map.Start.Line;
            var fields = Fields(map, path, KeyFields);
            string? id = null;
            if (!fields.TryGetValue("id", out var idNode))
            {
                Error(line, path + ".id", "is required");
            }
            else if (TryNonEmpty(idNode, path + ".id", out var idText))
            {
                if (!IsKeyId(idText.Value))
                {
                    Error(idText.Line, path + ".id", "key ids use only A-Z, a-z, 0-9, '_', '.' and '-'");
                }
                else if (!ids.TryAdd(idText.Value, path))
                {
                    Error(idText.Line, path + ".id", $"duplicate key id {idText.Describe()} (also {ids[idText.Value]})");
                }
                else
                {
                    id = idText.Value;
                    declared.Add(id);
                }
            }

            var hash = ParseKeyHash(fields, path, line);
            if (hash is not null && !hashes.TryAdd(hash, path))
            {
                // Same secret twice would make the ring unable to tell the two keys apart.
                Error(line, path + (fields.ContainsKey("secret") ? ".secret" : ".hash"), $"duplicate hash: same secret as {hashes[hash]}");
            }

            var allowed = new List<string>();
            if (fields.TryGetValue("models", out var modelsNode) && TrySequence(modelsNode, path + ".models", out var modelList))
            {
                for (var j = 0; j < modelList.Children.Count; j++)
                {
                    var itemPath = path + ".models[" + j.ToString(CultureInfo.InvariantCulture) + "]";
                    if (!TryScalar(modelList.Children[j], itemPath, out var alias))
                    {
                        continue;
                    }

                    if (aliases.Contains(alias.Value))
                    {
                        allowed.Add(alias.Value);
                    }
                    else
                    {
                        Error(alias.Line, itemPath, $"unknown model alias {alias.Describe()}");
                    }
                }
            }

            DateTimeOffset? expiresAt = null;
            if (fields.TryGetValue("expires_at", out var expiresNode) && TryTimestamp(expiresNode, path + ".expires_at", out var timestamp))
            {
                expiresAt = timestamp;
            }

            string? team = null;
            if (fields.TryGetValue("team", out var teamNode) && TryScalar(teamNode, path + ".team", out var teamName))
            {
                if (teams.Contains(teamName.Value))
                {
                    team = teamName.Value;
                }
                else
                {
                    Error(teamName.Line, path + ".team", $"unknown team {teamName.Describe()} (define it under teams:)");
                }
            }

            var trustEndUser = false;
            if (fields.TryGetValue("trust_end_user", out var trustUserNode) && TryBool(trustUserNode, path + ".trust_end_user", out var trustsUser))
            {
                trustEndUser = trustsUser;
            }

            var trustTags = false;
            if (fields.TryGetValue("trust_tags", out var trustTagsNode) && TryBool(trustTagsNode, path + ".trust_tags", out var trustsTags))
            {
                trustTags = trustsTags;
            }

            if (errors.Count == before && id is not null && hash is not null)
            {
                keys.Add(new KeyConfig { Id = id, Hash = hash, AllowedModels = allowed, ExpiresAt = expiresAt, Team = team, TrustEndUser = trustEndUser, TrustTags = trustTags });
            }
        }

        return keys;
    }

    private string ParseOrganization(YamlNode node)
    {
        if (!TryScalar(node, "organization", out var text))
        {
            return DefaultOrganization;
        }

        if (!ScopeRef.IsValidId(text.Value))
        {
            Error(text.Line, "organization", ScopeIdRule);
            return DefaultOrganization;
        }

        return text.Value;
    }

    private Dictionary<string, TeamConfig> ParseTeams(YamlNode node, HashSet<string> declared)
    {
        var teams = new Dictionary<string, TeamConfig>(StringComparer.Ordinal);
        if (!TryMapping(node, "teams", out var map))
        {
            return teams;
        }

        foreach (var (idNode, body) in Entries(map, "teams"))
        {
            var id = idNode.Value ?? string.Empty;
            var path = "teams." + id;
            declared.Add(id);
            var before = errors.Count;
            if (!ScopeRef.IsValidId(id))
            {
                Error(idNode.Start.Line, path, ScopeIdRule);
            }

            if (TryMapping(body, path, out var fields))
            {
                // No team fields yet: "platform: {}" declares a team, and anything inside is a typo to report.
                Fields(fields, path, TeamFields);
            }

            if (errors.Count == before)
            {
                teams[id] = new TeamConfig(id);
            }
        }

        return teams;
    }

    private string? ParseKeyHash(Dictionary<string, YamlNode> fields, string path, long line)
    {
        var hasHash = fields.TryGetValue("hash", out var hashNode);
        var hasSecret = fields.TryGetValue("secret", out var secretNode);
        if (hasHash && hasSecret)
        {
            Error(secretNode!.Start.Line, path + ".secret", "give either hash or secret, not both");
            return null;
        }

        if (hasHash)
        {
            return TryHash(hashNode!, path + ".hash", out var hash) ? hash : null;
        }

        if (!hasSecret)
        {
            Error(line, path + ".hash", "is required (or secret: ${ENV_VAR}, hashed on load)");
            return null;
        }

        if (!TryScalar(secretNode!, path + ".secret", out var secret))
        {
            return null;
        }

        if (secret.Value.Length == 0)
        {
            Error(secret.Line, path + ".secret", "must not be empty");
            return null;
        }

        return KeyHasher.Hash(secret.Value);
    }

    private bool TryPrice(YamlNode node, string path, bool allowMaxOutput, out ModelPrice price, out int? maxOutput)
    {
        price = ModelPrice.Free;
        maxOutput = null;
        if (!TryMapping(node, path, out var map))
        {
            return false;
        }

        var before = errors.Count;
        var fields = Fields(map, path, allowMaxOutput ? CatalogPriceFields : ModelPriceFields);
        var input = RequiredUsd(fields, "input", path, map.Start.Line);
        var output = RequiredUsd(fields, "output", path, map.Start.Line);
        long? cached = fields.TryGetValue("cached_input", out var cachedNode) && TryUsdPerMillion(cachedNode, path + ".cached_input", out var c) ? c : null;
        long? write = fields.TryGetValue("cache_write", out var writeNode) && TryUsdPerMillion(writeNode, path + ".cache_write", out var w) ? w : null;
        if (fields.TryGetValue("max_output_tokens", out var maxNode) && TryInteger(maxNode, path + ".max_output_tokens", 1, int.MaxValue, out var max))
        {
            maxOutput = (int)max;
        }

        if (errors.Count != before || input is null || output is null)
        {
            return false;
        }

        price = new ModelPrice(input.Value, output.Value, cached, write);
        return true;
    }

    private long? RequiredUsd(Dictionary<string, YamlNode> fields, string name, string path, long line)
    {
        if (!fields.TryGetValue(name, out var node))
        {
            Error(line, path + "." + name, "is required (USD per million tokens)");
            return null;
        }

        return TryUsdPerMillion(node, path + "." + name, out var nano) ? nano : null;
    }

    private bool TryUsdPerMillion(YamlNode node, string path, out long nanoPerMillion)
    {
        nanoPerMillion = 0;
        if (!TryScalar(node, path, out var text))
        {
            return false;
        }

        if (!decimal.TryParse(text.Value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var usd))
        {
            Error(text.Line, path, $"expected a decimal number of USD per million tokens, got {text.Describe()}");
            return false;
        }

        if (usd < 0)
        {
            Error(text.Line, path, "must not be negative");
            return false;
        }

        var nano = usd * Money.NanoPerUsd;
        if (nano != decimal.Truncate(nano))
        {
            Error(text.Line, path, "more than 9 decimal places: prices are exact to the nano-dollar per million tokens");
            return false;
        }

        if (nano > long.MaxValue)
        {
            Error(text.Line, path, "is too large");
            return false;
        }

        nanoPerMillion = (long)nano;
        return true;
    }

    private bool TryInteger(YamlNode node, string path, long min, long max, out long value)
    {
        value = 0;
        if (!TryScalar(node, path, out var text))
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

    private bool TryBool(YamlNode node, string path, out bool value)
    {
        value = false;
        if (!TryScalar(node, path, out var text))
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

    private bool TryHttpUrl(YamlNode node, string path, out ConfigScalar url)
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

    private bool TryHash(YamlNode node, string path, out string hash)
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

    private bool TryTimestamp(YamlNode node, string path, out DateTimeOffset value)
    {
        value = default;
        if (!TryScalar(node, path, out var text))
        {
            return false;
        }

        if (!HasExplicitOffset(text.Value)
            || !DateTimeOffset.TryParse(text.Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out value))
        {
            Error(text.Line, path, $"expected an ISO 8601 date-time with offset such as 2027-01-01T00:00:00Z, got {text.Describe()}");
            return false;
        }

        return true;
    }

    private bool TryNonEmpty(YamlNode node, string path, out ConfigScalar scalar)
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

    /// <summary>Reads one scalar and expands ${VAR} in it.</summary>
    private bool TryScalar(YamlNode node, string path, out ConfigScalar scalar)
    {
        scalar = default;
        if (node is not YamlScalarNode { Value: { } raw })
        {
            Error(node.Start.Line, path, $"expected a single value, got {Describe(node)}");
            return false;
        }

        var variables = new List<string>();
        var problems = new List<string>();
        var value = EnvInterpolation.Expand(raw, environment, variables, problems);
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

    private bool TryMapping(YamlNode node, string path, out YamlMappingNode map)
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

    private bool TrySequence(YamlNode node, string path, out YamlSequenceNode sequence)
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
    private List<(YamlScalarNode Name, YamlNode Body)> Entries(YamlMappingNode map, string path)
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
    private Dictionary<string, YamlNode> Fields(YamlMappingNode map, string path, string[] allowed)
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
                var suggestion = ClosestField(name, allowed);
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

    private ConfigLoadResult Result(PurserConfig? config)
    {
        if (errors.Count == 0 && config is not null)
        {
            return new ConfigLoadResult(config, []);
        }

        var sorted = errors.OrderBy(e => e.Line ?? 0).ToArray();
        return new ConfigLoadResult(null, sorted);
    }

    private void Error(long? line, string field, string message) =>
        errors.Add(new ConfigError(source, line is > 0 and <= int.MaxValue ? (int)line : null, field, message));

    private static string SyntaxMessage(string message) =>
        message.StartsWith("Duplicate key ", StringComparison.Ordinal)
            ? $"duplicate field '{message["Duplicate key ".Length..]}'"
            : "invalid YAML: " + message;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };

    private static bool IsProviderName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiDigit(c) && !char.IsAsciiLetterLower(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsKeyId(string id)
    {
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }

        return id.Length > 0;
    }

    /// <summary>"2027-01-01T00:00:00Z" or "…+02:00": a bare local time would mean different instants on different hosts.</summary>
    private static bool HasExplicitOffset(string text)
    {
        var t = text.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        if (t < 0)
        {
            return false;
        }

        var time = text.AsSpan(t + 1);
        if (time.EndsWith("Z", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return time.Length >= 6
            && time[^6] is '+' or '-'
            && char.IsAsciiDigit(time[^5]) && char.IsAsciiDigit(time[^4]) && time[^3] == ':'
            && char.IsAsciiDigit(time[^2]) && char.IsAsciiDigit(time[^1]);
    }

    private static string? ClosestField(string name, string[] allowed)
    {
        string? best = null;
        var bestDistance = 3;
        foreach (var candidate in allowed)
        {
            var distance = EditDistance(name, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
