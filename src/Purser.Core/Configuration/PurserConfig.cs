using Purser.Budgets;
using Purser.Pricing;

namespace Purser.Configuration;

/// <summary>The whole validated configuration. Immutable: a reload swaps the instance atomically.</summary>
public sealed record PurserConfig
{
    public ServerConfig Server { get; init; } = new();

    public StorageConfig Storage { get; init; } = new();

    /// <summary>The retention of usage records.</summary>
    public UsageConfig Usage { get; init; } = new();

    /// <summary>Providers by name (case-sensitive, as written in the file).</summary>
    public IReadOnlyDictionary<string, ProviderConfig> Providers { get; init; } = new Dictionary<string, ProviderConfig>();

    /// <summary>Model aliases by alias name, as callers write them in <c>model</c>.</summary>
    public IReadOnlyDictionary<string, ModelConfig> Models { get; init; } = new Dictionary<string, ModelConfig>();

    public IReadOnlyList<KeyConfig> Keys { get; init; } = [];

    /// <summary>The organisation's scope id: budgets on "org:&lt;this&gt;" cover every request.</summary>
    public string Organization { get; init; } = "default";

    /// <summary>Teams by id; keys belong to at most one.</summary>
    public IReadOnlyDictionary<string, TeamConfig> Teams { get; init; } = new Dictionary<string, TeamConfig>();

    /// <summary>Budgets on the organisation, teams and keys; task budgets are created at run time, never here.</summary>
    public IReadOnlyList<BudgetDefinition> Budgets { get; init; } = [];

    /// <summary>Rate limits (requests and tokens per minute, concurrency) on the organisation, teams, keys and tasks.</summary>
    public IReadOnlyList<RateLimits.RateLimitDefinition> RateLimits { get; init; } = [];

    /// <summary>Routing aliases (ordered targets with failover) by alias.</summary>
    public IReadOnlyDictionary<string, Ensembles.RouteConfig> Routes { get; init; } = new Dictionary<string, Ensembles.RouteConfig>();

    /// <summary>Ensemble aliases (panel + judge under a cost guardrail) by alias.</summary>
    public IReadOnlyDictionary<string, Ensembles.EnsembleConfig> Ensembles { get; init; } = new Dictionary<string, Ensembles.EnsembleConfig>();

    /// <summary>Bedtime Mode policies on keys and teams (SPEC §5).</summary>
    public IReadOnlyList<Bedtime.BedtimePolicy> Bedtime { get; init; } = [];

    /// <summary>Metrics export and log format.</summary>
    public TelemetryConfig Telemetry { get; init; } = new();
}

/// <summary>A team of keys, charged together to "team:&lt;id&gt;".</summary>
public sealed record TeamConfig(string Id);

public sealed record ServerConfig
{
    /// <summary>Where the gateway listens; loopback by default.</summary>
    public string Listen { get; init; } = "http://127.0.0.1:8080";

    /// <summary>Requests with a larger body are refused with 413 before they are parsed.</summary>
    public long MaxBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Upper bound on one upstream call, headers to last byte.</summary>
    public int UpstreamTimeoutSeconds { get; init; } = 600;

    /// <summary>
    /// <c>anthropic-beta</c> values a caller may send (forwarded to Anthropic). A value not listed is refused with a 400,
    /// because a beta can switch on billing the gateway does not bound (see <see cref="Pricing.AnthropicBetas"/>).
    /// </summary>
    public IReadOnlyList<string> AnthropicBetas { get; init; } = Pricing.AnthropicBetas.DefaultAllowed;

    /// <summary>The admin (master) key's hash; null disables the admin API.</summary>
    public string? AdminKeyHash { get; init; }

    /// <summary>
    /// How many task scopes (x-budget-scope with x-budget-ceiling) one key may have open; past it, a call that would open
    /// another is refused (403 open_task_limit_reached). A task stays open until its budget is deleted.
    /// </summary>
    public int MaxOpenTasksPerKey { get; init; } = 1000;

    /// <summary>
    /// How many end users one <c>user:*</c> budget counts in one window; a request naming one more is refused
    /// (403 end_user_limit_reached), so a caller cannot grow the ledger without bound by inventing user ids.
    /// </summary>
    public int MaxEndUsersPerBudget { get; init; } = 10_000;
}

public sealed record StorageConfig
{
    /// <summary>The embedded SQLite file. Relative paths are relative to the config file's directory.</summary>
    public string SqlitePath { get; init; } = "data/purser.db";

    /// <summary>
    /// The shared PostgreSQL database's connection string; when set, the ledger, usage records, keys, budgets, events
    /// and Bedtime policies live there (several instances, one cost view), and the SQLite file keeps only webhooks.
    /// </summary>
    public string? Postgres { get; init; }

    /// <summary>
    /// Reserve against per-instance leases of each budget's headroom in memory (no ledger write per request), see
    /// <c>LeasedBudgetLedger</c>. On by default with either store (<c>leases: false</c> opts out to per-request holds);
    /// an instance's reads do not count its own leases' unused part, so a single instance's budget reads stay exact.
    /// </summary>
    public bool Leases { get; init; } = true;

    /// <summary>The largest slice of a budget's headroom one lease takes (storage.lease_max_usd, default $1).</summary>
    public Money? LeaseMax { get; init; }

    /// <summary>
    /// storage.fail_open.local_cap_usd: when the ledger is unreachable, admit up to this much worst-case spend per
    /// instance per outage instead of refusing. Null (the default) fails closed.
    /// </summary>
    public Money? FailOpenLocalCap { get; init; }
}

public enum ProviderKind
{
    /// <summary>OpenAI or any OpenAI-compatible endpoint (vLLM, Ollama, Together, Groq, …).</summary>
    OpenAI = 0,

    /// <summary>Anthropic's native Messages API.</summary>
    Anthropic = 1,

    /// <summary>
    /// Azure OpenAI: OpenAI's wire format at deployment URLs
    /// (<c>{base_url}/openai/deployments/{upstream}/chat/completions?api-version=…</c>) with an <c>api-key</c> header.
    /// </summary>
    AzureOpenAI = 2,
}

public sealed record ProviderConfig
{
    public required string Name { get; init; }

    public required ProviderKind Kind { get; init; }

    /// <summary>Base URL including the version segment, e.g. https://api.openai.com/v1 or https://api.anthropic.com/v1.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>The provider's secret, resolved from ${ENV}. Never logged, never returned.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Azure OpenAI's <c>api-version</c> query parameter; required for, and only allowed with, <see cref="ProviderKind.AzureOpenAI"/>.</summary>
    public string? ApiVersion { get; init; }

    /// <summary>
    /// The OpenAI-format provider has the Responses API (<c>responses:</c> in YAML, default true). False for a chat-only
    /// server: <c>/v1/responses</c> for its models is translated to Chat Completions and back.
    /// </summary>
    public bool ResponsesApi { get; init; } = true;

    /// <summary>Whether the provider speaks OpenAI's wire format (OpenAI, any compatible server, Azure OpenAI).</summary>
    public bool SpeaksOpenAi => Kind != ProviderKind.Anthropic;

    public override string ToString() => $"ProviderConfig {{ Name = {Name}, Kind = {Kind}, BaseUrl = {BaseUrl}, ApiVersion = {ApiVersion}, ApiKey = {(ApiKey is null ? "none" : "***")} }}";
}

public enum ModelKind
{
    Chat = 0,
    Embeddings = 1,
}

public sealed record ModelConfig
{
    /// <summary>The name callers use.</summary>
    public required string Alias { get; init; }

    public required string Provider { get; init; }

    /// <summary>The provider's own model name.</summary>
    public required string UpstreamModel { get; init; }

    public ModelKind Kind { get; init; } = ModelKind.Chat;

    /// <summary>Null means unpriced: requests are refused unless <see cref="Free"/> is set.</summary>
    public ModelPrice? Price { get; init; }

    /// <summary>The operator says this model costs nothing, on purpose.</summary>
    public bool Free { get; init; }

    /// <summary>The model's own ceiling on output tokens.</summary>
    public int MaxOutputTokens { get; init; } = 4096;

    /// <summary>The max_tokens the gateway sets when a caller omits it (never above <see cref="MaxOutputTokens"/>).</summary>
    public int DefaultMaxTokens { get; init; } = 4096;

    /// <summary>The most input tokens the provider accepts in one call (from the catalog); null when unknown.</summary>
    public long? ContextWindow { get; init; }

    /// <summary>
    /// The model spends hidden reasoning tokens billed as output, which a relayed stream cannot count: a stream that
    /// ends without usage is charged its hold in full.
    /// </summary>
    public bool Reasoning { get; init; }
}

public sealed record KeyConfig
{
    /// <summary>The key's public id, used in usage records and logs.</summary>
    public required string Id { get; init; }

    /// <summary>"sha256:&lt;hex&gt;" of the secret; the secret itself is never stored.</summary>
    public required string Hash { get; init; }

    /// <summary>Aliases this key may call; empty means every alias.</summary>
    public IReadOnlyList<string> AllowedModels { get; init; } = [];

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The team the key's spend is also charged to; null for none.</summary>
    public string? Team { get; init; }

    /// <summary>Whether the body's OpenAI <c>user</c> / Anthropic <c>metadata.user_id</c> names the end user (x-budget-user always does).</summary>
    public bool TrustEndUser { get; init; }

    /// <summary>Whether the key may send <c>x-budget-tags</c>; from other keys the header is refused.</summary>
    public bool TrustTags { get; init; }
}
