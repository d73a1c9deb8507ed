using Purser.Configuration;
using Purser.Keys;
using Purser.Pricing;
using static Purser.Core.Tests.Configuration.ConfigTestHelper;

namespace Purser.Core.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string FullFile = """
        server:
          listen: https://0.0.0.0:9443
          max_body_bytes: 1048576
          upstream_timeout_seconds: 120
          max_open_tasks_per_key: 25
          admin_key_hash: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        storage:
          sqlite_path: /var/lib/purser/purser.db
        providers:
          openai:
            kind: openai
            base_url: https://api.openai.com/v1
            api_key: ${OPENAI_API_KEY}
          claude:
            kind: anthropic
            base_url: https://api.anthropic.com/v1
            api_key: ${ANTHROPIC_API_KEY}
          local_vllm-1:
            kind: openai
            base_url: http://127.0.0.1:8000/v1
        prices:
          my-llama: { input: 0.2, output: 0.6, cached_input: 0.1, cache_write: 0.25, max_output_tokens: 8192 }
          gpt-4o: { input: "3.000000001", output: 12 }
        models:
          mini:
            provider: openai
            upstream: gpt-4o-mini
            kind: chat
            price: { input: 0.15, output: 0.60, cached_input: 0.075 }
            max_output_tokens: 16384
            default_max_tokens: 2048
          gpt-4o:
            provider: openai
            upstream: gpt-4o-2024-08-06
          sonnet:
            provider: claude
            upstream: claude-sonnet-4-5-20250929
          llama:
            provider: local_vllm-1
            upstream: my-llama
          embed:
            provider: openai
            upstream: text-embedding-3-small
            kind: embeddings
          scratch:
            provider: local_vllm-1
            free: true
          # a model with no price is a configuration error (issue 13); this one is a catalog model
          mystery: { provider: local_vllm-1, upstream: o3-pro }
        keys:
          - id: team-a.agent_1
            hash: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
            models: [mini, sonnet]
            expires_at: 2027-01-01T00:00:00Z
          - id: ci
            secret: ${CI_KEY}
            expires_at: 2026-06-30T12:00:00+02:00
          - id: everyone
            hash: sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
            models: []
        """;

    private static readonly Dictionary<string, string> FullEnv = new()
    {
        ["OPENAI_API_KEY"] = "sk-openai-secret",
        ["ANTHROPIC_API_KEY"] = "sk-ant-secret",
        ["CI_KEY"] = "sk-purser-ci",
    };

    [Fact]
    public void Full_file_loads_server_storage_and_providers_exactly()
    {
        var config = ParseValid(FullFile, FullEnv);

        Assert.Equal("https://0.0.0.0:9443", config.Server.Listen);
        Assert.Equal(1_048_576, config.Server.MaxBodyBytes);
        Assert.Equal(120, config.Server.UpstreamTimeoutSeconds);
        Assert.Equal(25, config.Server.MaxOpenTasksPerKey);
        Assert.Equal(Hash('a'), config.Server.AdminKeyHash);
        Assert.Equal("/var/lib/purser/purser.db", config.Storage.SqlitePath);

        Assert.Equal(3, config.Providers.Count);
        var openai = config.Providers["openai"];
        Assert.Equal(ProviderKind.OpenAI, openai.Kind);
        Assert.Equal(new Uri("https://api.openai.com/v1"), openai.BaseUrl);
        Assert.Equal("sk-openai-secret", openai.ApiKey);
        Assert.Equal(ProviderKind.Anthropic, config.Providers["claude"].Kind);
        Assert.Equal("sk-ant-secret", config.Providers["claude"].ApiKey);
        Assert.Null(config.Providers["local_vllm-1"].ApiKey);
        Assert.Equal("local_vllm-1", config.Providers["local_vllm-1"].Name);
    }

    [Fact]
    public void Full_file_prices_models_exactly_in_nano_usd()
    {
        var config = ParseValid(FullFile, FullEnv);

        Assert.Equal(7, config.Models.Count);
        var mini = config.Models["mini"];
        Assert.Equal("mini", mini.Alias);
        Assert.Equal("openai", mini.Provider);
        Assert.Equal("gpt-4o-mini", mini.UpstreamModel);
        Assert.Equal(ModelKind.Chat, mini.Kind);
        Assert.Equal(new ModelPrice(150_000_000, 600_000_000, 75_000_000, null), mini.Price);
        Assert.False(mini.Free);
        Assert.Equal(16_384, mini.MaxOutputTokens);
        Assert.Equal(2048, mini.DefaultMaxTokens);

        // The prices: override of gpt-4o applies to its dated snapshot, and keeps the catalog's output ceiling.
        var gpt4o = config.Models["gpt-4o"];
        Assert.Equal(new ModelPrice(3_000_000_001, 12_000_000_000), gpt4o.Price);
        Assert.Equal(16_384, gpt4o.MaxOutputTokens);
        Assert.Equal(4096, gpt4o.DefaultMaxTokens);

        var sonnet = config.Models["sonnet"];
        Assert.Equal(new ModelPrice(3_000_000_000, 15_000_000_000, 300_000_000, 3_750_000_000) with { CacheWrite1hPerMillion = 6_000_000_000, LongContext = sonnet.Price!.LongContext, WebSearchPerUse = Money.FromUsd(0.01m) }, sonnet.Price);
        Assert.Equal(200_000, sonnet.Price.LongContext!.ThresholdTokens);
        Assert.Equal(200_000, sonnet.ContextWindow);
        Assert.Equal(64_000, sonnet.MaxOutputTokens);

        var llama = config.Models["llama"];
        Assert.Equal(new ModelPrice(200_000_000, 600_000_000, 100_000_000, 250_000_000), llama.Price);
        Assert.Equal(8192, llama.MaxOutputTokens);
        Assert.Equal(4096, llama.DefaultMaxTokens);

        var embed = config.Models["embed"];
        Assert.Equal(ModelKind.Embeddings, embed.Kind);
        Assert.Equal(new ModelPrice(20_000_000, 0), embed.Price);

        var scratch = config.Models["scratch"];
        Assert.True(scratch.Free);
        Assert.Equal(ModelPrice.Free, scratch.Price);
        Assert.Equal("scratch", scratch.UpstreamModel);

        var mystery = config.Models["mystery"];
        Assert.Equal(PriceCatalog.Default.Entries["o3-pro"].Price, mystery.Price);
        Assert.False(mystery.Free);
        Assert.Equal(100_000, mystery.MaxOutputTokens);
        Assert.True(mystery.Reasoning);
    }

    [Fact]
    public void Full_file_loads_keys_with_hashed_secret_models_and_expiry()
    {
        var config = ParseValid(FullFile, FullEnv);

        Assert.Equal(3, config.Keys.Count);
        var teamA = config.Keys[0];
        Assert.Equal("team-a.agent_1", teamA.Id);
        Assert.Equal("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", teamA.Hash);
        Assert.Equal(["mini", "sonnet"], teamA.AllowedModels);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), teamA.ExpiresAt);

        var ci = config.Keys[1];
        Assert.Equal(KeyHasher.Hash("sk-purser-ci"), ci.Hash);
        Assert.Empty(ci.AllowedModels);
        Assert.Equal(new DateTimeOffset(2026, 6, 30, 10, 0, 0, TimeSpan.Zero), ci.ExpiresAt);

        Assert.Empty(config.Keys[2].AllowedModels);
        Assert.Null(config.Keys[2].ExpiresAt);
    }

    [Fact]
    public void Secret_from_environment_is_not_kept_anywhere_in_the_config()
    {
        var config = ParseValid(FullFile, FullEnv);

        Assert.DoesNotContain("sk-purser-ci", config.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-purser-ci", string.Join(",", config.Keys), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-openai-secret", config.Providers["openai"].ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    [InlineData("providers:\nmodels:\nkeys:\n")]
    public void Empty_file_or_empty_sections_give_defaults(string yaml)
    {
        var config = ParseValid(yaml);

        Assert.Equal("http://127.0.0.1:8080", config.Server.Listen);
        Assert.Equal(4 * 1024 * 1024, config.Server.MaxBodyBytes);
        Assert.Equal(600, config.Server.UpstreamTimeoutSeconds);
        Assert.Equal(1000, config.Server.MaxOpenTasksPerKey);
        Assert.Null(config.Server.AdminKeyHash);
        Assert.Equal("data/purser.db", config.Storage.SqlitePath);
        Assert.Empty(config.Providers);
        Assert.Empty(config.Models);
        Assert.Empty(config.Keys);
    }

    [Fact]
    public void Provider_base_url_defaults_to_the_official_endpoint_of_its_kind()
    {
        var config = ParseValid("""
            providers:
              a: { kind: anthropic }
              o: { kind: openai }
            """);

        Assert.Equal(new Uri("https://api.anthropic.com/v1"), config.Providers["a"].BaseUrl);
        Assert.Equal(new Uri("https://api.openai.com/v1"), config.Providers["o"].BaseUrl);
    }

    [Fact]
    public void Explicit_max_output_tokens_caps_the_default_max_tokens()
    {
        var config = ParseValid("""
            providers:
              p: { kind: openai }
            models:
              small: { provider: p, max_output_tokens: 1000, free: true }
            """);

        Assert.Equal(1000, config.Models["small"].MaxOutputTokens);
        Assert.Equal(1000, config.Models["small"].DefaultMaxTokens);
    }

    [Fact]
    public void Catalog_passed_in_is_the_one_used_for_pricing()
    {
        var catalog = PriceCatalog.Default.With(new Dictionary<string, CatalogEntry>
        {
            ["house-model"] = new(new ModelPrice(1, 2), 100),
        });
        var result = ConfigLoader.Parse("providers:\n  p: { kind: openai }\nmodels:\n  house-model: { provider: p }\n", "x.yaml", _ => null, catalog);

        Assert.True(result.Success);
        Assert.Equal(new ModelPrice(1, 2), result.Config!.Models["house-model"].Price);
        Assert.Equal(100, result.Config.Models["house-model"].MaxOutputTokens);
        Assert.Equal(100, result.Config.Models["house-model"].DefaultMaxTokens);
    }

    [Fact]
    public void Example_file_shipped_with_the_source_is_valid()
    {
        var path = FindExampleFile();
        var env = new Dictionary<string, string> { ["OPENAI_API_KEY"] = "k1", ["ANTHROPIC_API_KEY"] = "k2", ["PURSER_CI_KEY"] = "k3", ["AZURE_OPENAI_API_KEY"] = "k4", ["GEMINI_API_KEY"] = "k5" };

        var result = ConfigLoader.LoadFile(path, name => env.TryGetValue(name, out var v) ? v : null, PriceCatalog.Default);

        Assert.True(result.Success, string.Join(Environment.NewLine, result.Errors));
        var config = result.Config!;
        Assert.Equal(new Uri("http://127.0.0.1:11434/v1"), config.Providers["local"].BaseUrl);
        Assert.Equal(PriceCatalog.Default.Entries["gpt-4o"].Price, config.Models["gpt-4o"].Price);
        Assert.Equal(PriceCatalog.Default.Entries["claude-sonnet-4-5"].Price, config.Models["claude-sonnet"].Price);
        Assert.True(config.Models["scratch"].Free);
        Assert.Equal(ProviderKind.AzureOpenAI, config.Providers["azure"].Kind);
        Assert.Equal("2024-10-21", config.Providers["azure"].ApiVersion);
        Assert.Equal(PriceCatalog.Default.Entries["gemini-2.5-flash"].Price, config.Models["gemini-flash"].Price);
        Assert.Equal(KeyHasher.Hash("k3"), config.Keys[1].Hash);
        Assert.Equal(Path.Combine(Path.GetDirectoryName(path)!, "data", "purser.db"), config.Storage.SqlitePath);
        Assert.Equal("acme", config.Organization);
        Assert.Equal(["platform", "research"], config.Teams.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("platform", config.Keys[0].Team);
        Assert.Equal(["acme-monthly", "platform-daily", "agent-daily"], config.Budgets.Select(b => b.Id));
        Assert.Equal("org:acme", config.Budgets[0].Scope.ToString());
        Assert.Equal("gpt-4o-mini", config.Budgets[2].Degrade!.FallbackModel);
    }

    [Fact]
    public void LoadFile_resolves_a_relative_sqlite_path_against_the_config_directory()
    {
        var dir = Directory.CreateTempSubdirectory("purser-config-");
        try
        {
            var file = Path.Combine(dir.FullName, "purser.yaml");
            File.WriteAllText(file, "storage:\n  sqlite_path: state/usage.db\n");

            var result = ConfigLoader.LoadFile(file, _ => null, PriceCatalog.Default);

            Assert.True(result.Success);
            Assert.Equal(Path.Combine(dir.FullName, "state", "usage.db"), result.Config!.Storage.SqlitePath);
            Assert.Equal("state/usage.db", ConfigLoader.Parse(File.ReadAllText(file), file, _ => null, PriceCatalog.Default).Config!.Storage.SqlitePath);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadFile_keeps_absolute_and_in_memory_sqlite_paths()
    {
        var dir = Directory.CreateTempSubdirectory("purser-config-");
        try
        {
            var file = Path.Combine(dir.FullName, "purser.yaml");
            File.WriteAllText(file, "storage:\n  sqlite_path: ':memory:'\n");
            Assert.Equal(":memory:", ConfigLoader.LoadFile(file, _ => null, PriceCatalog.Default).Config!.Storage.SqlitePath);

            var absolute = Path.Combine(dir.FullName, "elsewhere", "x.db");
            File.WriteAllText(file, $"storage:\n  sqlite_path: '{absolute}'\n");
            Assert.Equal(absolute, ConfigLoader.LoadFile(file, _ => null, PriceCatalog.Default).Config!.Storage.SqlitePath);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadFile_of_a_missing_file_is_one_error_not_an_exception()
    {
        var path = Path.Combine(Path.GetTempPath(), "purser-does-not-exist-" + Guid.NewGuid().ToString("N"), "purser.yaml");

        var result = ConfigLoader.LoadFile(path, _ => null, PriceCatalog.Default);

        Assert.False(result.Success);
        Assert.Null(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Source);
        Assert.Null(error.Line);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_of_a_directory_is_one_error_not_an_exception()
    {
        var dir = Directory.CreateTempSubdirectory("purser-config-");
        try
        {
            var result = ConfigLoader.LoadFile(dir.FullName, _ => null, PriceCatalog.Default);

            Assert.False(result.Success);
            Assert.Single(result.Errors);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string FindExampleFile()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        for (var depth = 0; depth < 12 && dir is not null; depth++, dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Purser.Core", "Configuration", "purser.example.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("purser.example.yaml not found above " + AppContext.BaseDirectory);
    }
}
