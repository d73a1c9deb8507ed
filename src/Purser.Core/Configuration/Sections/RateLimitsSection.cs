using System.Globalization;
using Purser.Budgets;
using Purser.RateLimits;
using YamlDotNet.RepresentationModel;

namespace Purser.Configuration.Sections;

/// <summary>The <c>rate_limits:</c> section: requests, tokens per minute and concurrency per scope; also the admin API's entries.</summary>
internal sealed class RateLimitsSection(ConfigDiagnostics diagnostics) : SectionReader(diagnostics)
{
    private static readonly string[] RateLimitFields = ["id", "scope", "under", "model", "requests_per_minute", "tokens_per_minute", "max_concurrent"];

    public List<RateLimitDefinition> Read(YamlNode node, RateLimitScopes scopes)
    {
        var limits = new List<RateLimitDefinition>();
        if (!TrySequence(node, "rate_limits", out var sequence))
        {
            return limits;
        }

        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var path = "rate_limits[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            if (ParseRateLimit(sequence.Children[i], path, null, scopes) is not { } limit)
            {
                continue;
            }

            if (!ids.TryAdd(limit.Id, path))
            {
                Error(sequence.Children[i].Start.Line, path + ".id", $"duplicate rate limit id '{limit.Id}' (also {ids[limit.Id]})");
                continue;
            }

            limits.Add(limit);
        }

        return limits;
    }

    /// <summary>
    /// One entry; <paramref name="fixedId"/> is the id of an admin API path (the body may repeat it, but not differ).
    /// Null, with the errors recorded, when the entry is invalid.
    /// </summary>
    private RateLimitDefinition? ParseRateLimit(YamlNode node, string path, string? fixedId, RateLimitScopes scopes)
    {
        var before = ErrorCount;
        if (!TryMapping(node, path, out var map))
        {
            return null;
        }

        var line = map.Start.Line;
        var fields = Fields(map, path, RateLimitFields);
        var id = fixedId;
        if (fixedId is not null && !ScopeRef.IsValidId(fixedId))
        {
            Error(null, path + ".id", "rate limit ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'");
        }

        if (fields.TryGetValue("id", out var idNode))
        {
            if (TryScalar(idNode, path + ".id", out var idText))
            {
                if (!ScopeRef.IsValidId(idText.Value))
                {
                    Error(idText.Line, path + ".id", "rate limit ids are 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-' and ':'");
                }
                else if (fixedId is not null && !string.Equals(fixedId, idText.Value, StringComparison.Ordinal))
                {
                    Error(idText.Line, path + ".id", $"the body's id {idText.Describe()} differs from the id in the path ('{fixedId}')");
                }
                else
                {
                    id = idText.Value;
                }
            }
        }
        else if (fixedId is null)
        {
            Error(line, path + ".id", "is required");
        }

        ScopeRef? scope = null;
        if (!fields.TryGetValue("scope", out var scopeNode))
        {
            Error(line, path + ".scope", $"is required (org:{scopes.Organization}, team:<team>, key:<key> or task:<task>)");
        }
        else if (TryScalar(scopeNode, path + ".scope", out var scopeText))
        {
            scope = ParseRateLimitScope(scopeText, path + ".scope", scopes);
        }

        // A user:* limit is a template: each end user (x-budget-user) gets buckets of their own, optionally only under
        // one key or team, the same shape user:* budgets use.
        ScopeRef? under = null;
        if (fields.TryGetValue("under", out var underNode) && TryScalar(underNode, path + ".under", out var underText))
        {
            if (scope is { Kind: not ScopeKind.EndUser })
            {
                Error(underText.Line, path + ".under", "applies to a user:* rate limit only");
            }
            else if (!ScopeRef.TryParse(underText.Value, out var parsedUnder) || parsedUnder.Value.Kind is not (ScopeKind.Key or ScopeKind.Team))
            {
                Error(underText.Line, path + ".under", $"expected key:<key> or team:<team>, got {underText.Describe()}");
            }
            else if (parsedUnder.Value.Kind == ScopeKind.Team ? !scopes.Teams.Contains(parsedUnder.Value.Id) : !scopes.Keys.Contains(parsedUnder.Value.Id))
            {
                Error(underText.Line, path + ".under", $"unknown {(parsedUnder.Value.Kind == ScopeKind.Team ? "team" : "key")} in {underText.Describe()}");
            }
            else
            {
                under = parsedUnder.Value;
            }
        }

        string? model = null;
        if (fields.TryGetValue("model", out var modelNode) && TryNonEmpty(modelNode, path + ".model", out var modelText))
        {
            if (scopes.Aliases.Contains(modelText.Value))
            {
                model = modelText.Value;
            }
            else
            {
                Error(modelText.Line, path + ".model", $"unknown model alias {modelText.Describe()}");
            }
        }

        long? rpm = null;
        if (fields.TryGetValue("requests_per_minute", out var rpmNode) && TryInteger(rpmNode, path + ".requests_per_minute", 1, RateLimitDefinition.MaxPerMinute, out var rpmValue))
        {
            rpm = rpmValue;
        }

        long? tpm = null;
        if (fields.TryGetValue("tokens_per_minute", out var tpmNode) && TryInteger(tpmNode, path + ".tokens_per_minute", 1, RateLimitDefinition.MaxPerMinute, out var tpmValue))
        {
            tpm = tpmValue;
        }

        int? concurrent = null;
        if (fields.TryGetValue("max_concurrent", out var concurrentNode) && TryInteger(concurrentNode, path + ".max_concurrent", 1, RateLimitDefinition.MaxConcurrentCap, out var concurrentValue))
        {
            concurrent = (int)concurrentValue;
        }

        if (rpmNode is null && tpmNode is null && concurrentNode is null)
        {
            Error(line, path, "give requests_per_minute, tokens_per_minute, max_concurrent or several: a rate limit without one limits nothing");
        }

        if (ErrorCount != before || id is null || scope is not { } s)
        {
            return null;
        }

        return new RateLimitDefinition { Id = id, Scope = s, Under = under, Model = model, RequestsPerMinute = rpm, TokensPerMinute = tpm, MaxConcurrent = concurrent };
    }

    // A task scope names an agent's run, which exists only at run time: any valid task id may be limited.
    private ScopeRef? ParseRateLimitScope(ConfigScalar text, string path, RateLimitScopes scopes) =>
        ParseScope(text, path, "org:<organization>, team:<team>, key:<key>, task:<task> or user:*", scopes.Organization, scopes.Teams, scopes.Keys, "", taskRefusal: null);

    /// <summary>
    /// A rate limit sent to the admin API (<paramref name="definition"/> is the file entry as JSON), checked against the
    /// file's organisation, teams and aliases and every key (the file's and the stored ones).
    /// </summary>
    internal RateLimitDefinition? ParseStoredRateLimit(PurserConfig file, IEnumerable<string> keyIds, string id, string definition)
    {
        var keys = new HashSet<string>(keyIds, StringComparer.Ordinal);
        var aliases = new HashSet<string>(file.Models.Keys, StringComparer.Ordinal);
        aliases.UnionWith(file.Routes.Keys);
        aliases.UnionWith(file.Ensembles.Keys);
        var scopes = new RateLimitScopes(file.Organization, new HashSet<string>(file.Teams.Keys, StringComparer.Ordinal), keys, aliases);
        var path = "rate_limits." + id;
        var body = Definition(definition, path);
        return body is null ? null : ParseRateLimit(body, path, id, scopes);
    }
}
