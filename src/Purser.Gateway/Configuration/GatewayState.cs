using System.Collections.Frozen;
using Purser.Admin;
using Purser.Budgets;
using Purser.Configuration;
using Purser.Keys;

namespace Purser.Gateway.Configuration;

/// <summary>
/// One immutable snapshot of everything a request needs to know about configuration. A reload builds a new snapshot
/// and swaps a reference, so a request sees one consistent configuration from start to end without locks.
/// </summary>
internal sealed class GatewayState
{
    public GatewayState(PurserConfig config)
        : this(config, [], [], [])
    {
    }

    public GatewayState(PurserConfig config, IReadOnlyList<StoredKey> storedKeys, IReadOnlyList<BudgetDefinition> storedBudgets)
        : this(config, storedKeys, storedBudgets, [])
    {
    }

    /// <summary>The configuration file joined with what operators created through the admin API (the file wins on an id clash).</summary>
    public GatewayState(PurserConfig config, IReadOnlyList<StoredKey> storedKeys, IReadOnlyList<BudgetDefinition> storedBudgets, IReadOnlyList<StoredAlias> storedAliases)
        : this(config, storedKeys, storedBudgets, storedAliases, [])
    {
    }

    public GatewayState(PurserConfig config, IReadOnlyList<StoredKey> storedKeys, IReadOnlyList<BudgetDefinition> storedBudgets, IReadOnlyList<StoredAlias> storedAliases, IReadOnlyList<RateLimits.StoredRateLimit> storedRateLimits)
    {
        // Stored routes and ensembles are checked against this file each time: one the file no longer supports is left out.
        var composed = StoredAliases.Compose(config, storedAliases);
        FileConfig = config;
        Config = composed.Config;
        StoredAliasDefinitions = storedAliases;
        AppliedAliases = composed.Applied;
        AliasErrors = composed.Errors;
        StoredKeys = storedKeys;
        StoredBudgets = storedBudgets;
        Keys = new KeyRing(config.Keys, storedKeys);
        var targets = new Dictionary<string, UpstreamTarget>(config.Providers.Count, StringComparer.Ordinal);
        foreach (var (name, provider) in config.Providers)
        {
            targets[name] = new UpstreamTarget(provider);
        }

        var models = new Dictionary<string, ResolvedModel>(config.Models.Count, StringComparer.Ordinal);
        foreach (var (alias, model) in config.Models)
        {
            // The loader already refused models naming an unknown provider.
            models[alias] = new ResolvedModel(model, targets[model.Provider]);
        }

        Models = models.ToFrozenDictionary(StringComparer.Ordinal);

        var budgets = new Dictionary<string, BudgetDefinition>(StringComparer.Ordinal);
        foreach (var budget in storedBudgets)
        {
            budgets[budget.Id] = budget;
        }

        foreach (var budget in config.Budgets)
        {
            budgets[budget.Id] = budget;
        }

        var byScope = new Dictionary<string, List<BudgetDefinition>>(StringComparer.Ordinal);
        foreach (var budget in budgets.Values)
        {
            // Task budgets are created at run time and looked up by TaskBudgets, which sees other instances' too.
            if (budget.Scope.Kind == ScopeKind.Task)
            {
                continue;
            }

            var scope = budget.Scope.ToString();
            if (!byScope.TryGetValue(scope, out var list))
            {
                byScope[scope] = list = [];
            }

            list.Add(budget);
        }

        var limitsByScope = new Dictionary<string, List<RateLimits.RateLimitDefinition>>(StringComparer.Ordinal);
        var limitIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var limit in config.RateLimits)
        {
            AddLimit(limitsByScope, limitIds, limit);
        }

        // Stored limits are checked against this file and every key each time (the file wins on an id clash); one the
        // file no longer supports (its key or model gone) is left out and reported.
        var keyIds = new List<string>(config.Keys.Count + storedKeys.Count);
        foreach (var fileKey in config.Keys)
        {
            keyIds.Add(fileKey.Id);
        }

        foreach (var storedKey in storedKeys)
        {
            keyIds.Add(storedKey.Id);
        }

        var appliedLimits = new List<RateLimits.RateLimitDefinition>();
        var limitErrors = new List<ConfigError>();
        foreach (var stored in storedRateLimits)
        {
            if (limitIds.Contains(stored.Id))
            {
                continue;
            }

            var (limit, errors) = RateLimits.RateLimitEntries.Parse(config, keyIds, stored.Id, stored.Definition);
            if (limit is null)
            {
                limitErrors.AddRange(errors);
                continue;
            }

            appliedLimits.Add(limit);
            AddLimit(limitsByScope, limitIds, limit);
        }

        StoredRateLimitDefinitions = storedRateLimits;
        StoredRateLimits = appliedLimits;
        RateLimitErrors = limitErrors;
        RateLimitIds = limitIds.ToFrozenSet(StringComparer.Ordinal);
        RateLimitsByScope = limitsByScope.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        Budgets = budgets.ToFrozenDictionary(StringComparer.Ordinal);
        BudgetsByScope = byScope.ToFrozenDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
    }

    public IReadOnlyList<StoredKey> StoredKeys { get; }

    /// <summary>Every rate limit stored through the admin API, in effect or not.</summary>
    public IReadOnlyList<RateLimits.StoredRateLimit> StoredRateLimitDefinitions { get; }

    /// <summary>The stored rate limits in effect (valid against this file, and not shadowed by a file limit's id).</summary>
    public IReadOnlyList<RateLimits.RateLimitDefinition> StoredRateLimits { get; }

    /// <summary>Why the other stored rate limits were left out.</summary>
    public IReadOnlyList<ConfigError> RateLimitErrors { get; }

    /// <summary>Every rate limit in effect (file and admin API) by scope string ("key:agent-a").</summary>
    public FrozenDictionary<string, RateLimits.RateLimitDefinition[]> RateLimitsByScope { get; }

    /// <summary>The ids of every rate limit in effect.</summary>
    public FrozenSet<string> RateLimitIds { get; }

    private static void AddLimit(Dictionary<string, List<RateLimits.RateLimitDefinition>> byScope, HashSet<string> ids, RateLimits.RateLimitDefinition limit)
    {
        ids.Add(limit.Id);
        var scope = limit.Scope.ToString();
        if (!byScope.TryGetValue(scope, out var list))
        {
            byScope[scope] = list = [];
        }

        list.Add(limit);
    }

    public IReadOnlyList<BudgetDefinition> StoredBudgets { get; }

    /// <summary>Every budget by id (file and admin API).</summary>
    public FrozenDictionary<string, BudgetDefinition> Budgets { get; }

    /// <summary>Budgets by scope string ("key:agent-a"), task budgets excepted.</summary>
    public FrozenDictionary<string, BudgetDefinition[]> BudgetsByScope { get; }

    /// <summary>The file's configuration with the valid stored routes and ensembles merged in: what requests use.</summary>
    public PurserConfig Config { get; }

    /// <summary>The configuration file alone, which a rebuild after an admin change starts from.</summary>
    public PurserConfig FileConfig { get; }

    /// <summary>Every stored routing and ensemble alias, valid or not against the current file.</summary>
    public IReadOnlyList<StoredAlias> StoredAliasDefinitions { get; }

    /// <summary>The stored aliases in effect (in <see cref="Config"/>).</summary>
    public IReadOnlyList<StoredAlias> AppliedAliases { get; }

    /// <summary>Why the other stored aliases were left out.</summary>
    public IReadOnlyList<ConfigError> AliasErrors { get; }

    public KeyRing Keys { get; }

    public FrozenDictionary<string, ResolvedModel> Models { get; }
}
