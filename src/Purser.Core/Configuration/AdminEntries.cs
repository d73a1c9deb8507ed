using Purser.Bedtime;
using Purser.Budgets;
using Purser.Configuration.Sections;

namespace Purser.Configuration;

/// <summary>
/// Budgets, Bedtime policies and keys sent to the admin API (or the dashboard, or the command line through it), read by
/// the very section types that read the file: the JSON body's text is read as YAML into the same nodes, strictly (a
/// value of the wrong JSON type is an error naming the field, never dropped or converted), against the gateway's
/// current configuration and every key. Each error's field is "&lt;prefix&gt;.&lt;JSON path&gt;", the prefix being
/// <see cref="BudgetPath"/>, <see cref="BedtimePath"/> or <see cref="KeyPath"/>.
/// </summary>
public static class AdminEntries
{
    /// <summary>The <see cref="ConfigError.Source"/> of errors in admin bodies.</summary>
    public const string Source = "admin-api";

    /// <summary>The error path prefix of the key in an admin body.</summary>
    public const string KeyPath = "keys";

    public static string BudgetPath(string id) => "budgets." + id;

    public static string BedtimePath(string scope) => "bedtime." + scope;

    /// <summary>A budget whose id is <paramref name="id"/> (the body may repeat it, not differ).</summary>
    public static (BudgetDefinition? Budget, IReadOnlyList<ConfigError> Errors) ReadBudget(PurserConfig config, IEnumerable<string> keyIds, string id, string definition)
    {
        ArgumentNullException.ThrowIfNull(id);
        var diagnostics = Diagnostics();
        var path = BudgetPath(id);
        var node = diagnostics.Definition(definition ?? string.Empty, path);
        var budget = node is null ? null : new BudgetsSection(diagnostics).ReadEntry(node, path, id, Scopes(config, keyIds), []);
        return Result(budget, diagnostics);
    }

    /// <summary>The Bedtime policy of <paramref name="scope"/> (the body may repeat it, not differ).</summary>
    public static (BedtimePolicy? Policy, IReadOnlyList<ConfigError> Errors) ReadBedtime(PurserConfig config, IEnumerable<string> keyIds, string scope, string definition)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var diagnostics = Diagnostics();
        var path = BedtimePath(scope);
        var node = diagnostics.Definition(definition ?? string.Empty, path);
        var policy = node is null ? null : new BedtimeSection(diagnostics).ReadEntry(node, path, scope, Scopes(config, keyIds), []);
        return Result(policy, diagnostics);
    }

    /// <summary>A key's fields (id, team, models, expiry, trust flags); its <see cref="KeyConfig.Hash"/> is empty.</summary>
    public static (KeyConfig? Key, IReadOnlyList<ConfigError> Errors) ReadKey(PurserConfig config, string definition)
    {
        ArgumentNullException.ThrowIfNull(config);
        var diagnostics = Diagnostics();
        var node = diagnostics.Definition(definition ?? string.Empty, KeyPath);
        var teams = new HashSet<string>(config.Teams.Keys, StringComparer.Ordinal);
        var key = node is null ? null : new KeysSection(diagnostics).ReadEntry(node, KeyPath, fromFile: false, Aliases(config), teams, [], []);
        return Result(key, diagnostics);
    }

    private static ConfigDiagnostics Diagnostics() => new(Source, static _ => null) { Strict = true };

    private static (T? Value, IReadOnlyList<ConfigError> Errors) Result<T>(T? value, ConfigDiagnostics diagnostics)
        where T : class =>
        diagnostics.Errors.Count == 0 && value is not null ? (value, []) : (null, diagnostics.Errors.ToArray());

    private static BudgetScopes Scopes(PurserConfig config, IEnumerable<string> keyIds)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(keyIds);
        var teams = new HashSet<string>(config.Teams.Keys, StringComparer.Ordinal);
        var keys = new HashSet<string>(keyIds, StringComparer.Ordinal);
        return new BudgetScopes(config.Organization, teams, keys, Aliases(config), new Dictionary<string, ModelConfig>(config.Models, StringComparer.Ordinal));
    }

    /// <summary>Every alias a caller may send: the models, routes and ensembles (the file's and the stored ones).</summary>
    private static HashSet<string> Aliases(PurserConfig config)
    {
        var aliases = new HashSet<string>(config.Models.Keys, StringComparer.Ordinal);
        aliases.UnionWith(config.Routes.Keys);
        aliases.UnionWith(config.Ensembles.Keys);
        return aliases;
    }
}
