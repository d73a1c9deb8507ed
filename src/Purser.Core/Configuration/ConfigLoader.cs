using Purser.Pricing;

namespace Purser.Configuration;

/// <summary>
/// Loads and validates <c>purser.yaml</c>. Every problem is reported at once, each with the file, line and field
/// path; a result carries either a config or errors, never both. Scalars may use <c>${VAR}</c> or
/// <c>${VAR:-default}</c> (default when VAR is unset or empty; <c>$${</c> is a literal <c>${</c>); values from the
/// environment never appear in error messages, only the variable names. All sections are optional.
/// <code>
/// server:
///   listen: http://127.0.0.1:8080       # absolute http(s) URL
///   max_body_bytes: 4194304             # > 0
///   upstream_timeout_seconds: 600       # 1..3600
///   admin_key_hash: sha256:&lt;64 hex&gt;     # optional; absent disables the admin API
///   max_open_tasks_per_key: 1000        # 1..1000000; task scopes one key may have open (a task closes when its budget is deleted)
/// storage:
///   sqlite_path: data/purser.db         # relative: to the config file's directory (LoadFile resolves it; Parse keeps it as written)
/// organization: acme                    # the org scope id (ScopeRef.IsValidId); default "default"
/// teams:
///   platform: {}                        # team ids: ScopeRef.IsValidId; no fields yet
/// providers:
///   openai:                             # name: [a-z0-9_-]+
///     kind: openai                      # openai | anthropic (required)
///     base_url: https://api.openai.com/v1   # absolute http(s) URL; default: the kind's official endpoint
///     api_key: ${OPENAI_API_KEY}        # optional; empty means none
/// prices:                               # catalog overrides/additions by UPSTREAM model name, USD per million tokens
///   my-llama: { input: 0.2, output: 0.6, cached_input: 0.1, cache_write: 0.25, max_output_tokens: 8192 }
///                                       # input and output required; max_output_tokens default: the catalog's, else 4096
/// models:
///   gpt-4o-mini:                        # the alias callers send
///     provider: openai                  # required; must name a provider
///     upstream: gpt-4o-mini             # default: the alias
///     kind: chat                        # chat | embeddings (default chat)
///     price: { input: 0.15, output: 0.60, cached_input: 0.075 }   # else the catalog (with prices:) by upstream name, dated snapshots resolved; else unpriced (Price = null)
///     free: false                       # true: priced at zero on purpose (conflicts with price)
///     max_output_tokens: 16384          # default: the catalog entry's, else 4096
///     default_max_tokens: 4096          # default: min(4096, max_output_tokens); must be ≤ max_output_tokens
/// keys:
///   - id: team-a-agent                  # unique, [A-Za-z0-9_.-]+
///     hash: sha256:&lt;64 lowercase hex&gt;   # or secret: ${SOME_ENV}, hashed on load and never kept
///     models: [gpt-4o-mini]             # each a defined alias; absent/empty = every alias
///     expires_at: 2027-01-01T00:00:00Z  # ISO 8601 with offset
///     team: platform                    # optional; must be a defined team
/// budgets:
///   - id: agent-a-daily                 # unique; ScopeRef.IsValidId
///     scope: key:team-a-agent           # org:&lt;organization&gt; | team:&lt;defined team&gt; | key:&lt;defined key&gt; (task budgets come at run time)
///     window: daily                     # daily | monthly | lifetime (default daily)
///     timezone: Europe/Oslo             # IANA name whose calendar bounds the window; default UTC
///     cap_usd: 5.00                     # exact decimal USD (at most 9 decimals), &gt;= 0
///     cap_tokens: 1000000               # whole number &gt;= 0; at least one of cap_usd / cap_tokens
///     enforcement: hard                 # hard | soft (default hard)
///     mode: reserve                     # reserve | post_hoc (default reserve)
///     alert_thresholds: [50, 80, 100]   # percentages 1..100, strictly increasing; default [50, 80, 100]
///     degrade: { fallback_model: gpt-4o-mini, min_max_tokens: 256 }   # fallback: a defined chat alias; min_max_tokens &gt;= 1
/// </code>
/// Prices are converted exactly to nano-USD per million tokens: negative amounts or more than nine decimals are errors.
/// </summary>
public static class ConfigLoader
{
    private const string InMemorySqlite = ":memory:";

    public static ConfigLoadResult Parse(string yaml, string sourceName, Func<string, string?> environment, PriceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(catalog);
        return new ConfigParser(sourceName, environment, catalog).Parse(yaml);
    }

    /// <summary>Reads and parses <paramref name="path"/>; a missing or unreadable file is one error, not an exception.</summary>
    public static ConfigLoadResult LoadFile(string path, Func<string, string?> environment, PriceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(path);
        string yaml;
        string directory;
        try
        {
            yaml = File.ReadAllText(path);
            directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = ex is FileNotFoundException or DirectoryNotFoundException ? "file not found" : "cannot read the file: " + ex.Message;
            return new ConfigLoadResult(null, [new ConfigError(path, null, string.Empty, reason)]);
        }

        var result = Parse(yaml, path, environment, catalog);
        if (result.Config is not { } config)
        {
            return result;
        }

        var sqlitePath = config.Storage.SqlitePath;
        if (sqlitePath == InMemorySqlite || Path.IsPathFullyQualified(sqlitePath))
        {
            return result;
        }

        var resolved = Path.GetFullPath(Path.Combine(directory, sqlitePath));
        return result with { Config = config with { Storage = config.Storage with { SqlitePath = resolved } } };
    }
}
