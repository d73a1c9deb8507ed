using System.Text;
using Purser.Configuration;
using Purser.Keys;
using Purser.Pricing;
using Purser.SimulatedProvider;

namespace Purser.Gateway.Hosting;

/// <summary>
/// The zero-configuration start: the bundled simulated provider behind a demo set of models, a demo key kept in the
/// data directory (so it survives restarts), and real providers added when their API keys are in the environment.
/// The configuration is generated as YAML and goes through the same loader as an operator's file.
/// </summary>
internal static class Quickstart
{
    /// <summary>
    /// Starts the bundled simulated provider and configures the gateway in front of it. Here rather than in
    /// <see cref="GatewayHost"/> so that a gateway started with a config file never loads the simulator's assembly.
    /// </summary>
    public static async Task<(IAsyncDisposable Simulator, PurserConfig Config, string DemoKey, string AdminKey)> StartAsync(GatewayHostOptions options, CancellationToken cancellationToken)
    {
        var simulator = await SimulatedProviderServer.StartAsync("http://127.0.0.1:0", cancellationToken).ConfigureAwait(false);
        var (config, demoKey, adminKey) = Configure(options, simulator.BaseAddress);
        return (simulator, config, demoKey, adminKey);
    }

    public static (PurserConfig Config, string DemoKey, string AdminKey) Configure(GatewayHostOptions options, Uri simulator)
    {
        var data = Path.GetFullPath(options.DataDirectory);
        PrivateFiles.CreateDirectory(data);
        var demoKey = PrivateFiles.ReadOrCreateSecret(Path.Combine(data, "demo-key.txt"), KeyHasher.NewSecret);
        var adminKey = PrivateFiles.ReadOrCreateSecret(Path.Combine(data, "admin-key.txt"), KeyHasher.NewSecret);

        // The database holds webhook signing secrets: created owner-only before SQLite opens it.
        PrivateFiles.EnsurePrivateDatabase(Path.Combine(data, "purser.db"));
        var sim = simulator.AbsoluteUri.TrimEnd('/');
        var yaml = new StringBuilder();
        yaml.Append($"""
            server:
              listen: http://127.0.0.1:8080
              admin_key_hash: {KeyHasher.Hash(adminKey)}
            storage:
              sqlite_path: {Path.Combine(data, "purser.db")}
            providers:
              sim-openai:
                kind: openai
                base_url: {sim}/v1
                api_key: sim
              sim-anthropic:
                kind: anthropic
                base_url: {sim}/v1
                api_key: sim

            """);
        var openAi = !string.IsNullOrEmpty(options.Environment("OPENAI_API_KEY"));
        var anthropic = !string.IsNullOrEmpty(options.Environment("ANTHROPIC_API_KEY"));
        if (openAi)
        {
            yaml.Append("""
                  openai:
                    kind: openai
                    base_url: https://api.openai.com/v1
                    api_key: ${OPENAI_API_KEY}

                """);
        }

        if (anthropic)
        {
            yaml.Append("""
                  anthropic:
                    kind: anthropic
                    base_url: https://api.anthropic.com/v1
                    api_key: ${ANTHROPIC_API_KEY}

                """);
        }

        yaml.Append("""
            models:
              sim-chat:
                provider: sim-openai
              sim-embed:
                provider: sim-openai
                kind: embeddings
              claude-sim:
                provider: sim-anthropic

            """);
        if (openAi)
        {
            yaml.Append("""
                  gpt-4o-mini: { provider: openai }
                  gpt-4.1-mini: { provider: openai }
                  gpt-4o: { provider: openai }
                  text-embedding-3-small: { provider: openai, kind: embeddings }

                """);
        }

        if (anthropic)
        {
            yaml.Append("""
                  claude-haiku-4-5: { provider: anthropic }
                  claude-sonnet-4-5: { provider: anthropic }

                """);
        }

        // A team with a Bedtime policy, so that the README's operator commands (keys create --team research, bedtime
        // wake team:research) work on the quickstart as written.
        yaml.Append("""
            teams:
              research: {}

            """);
        yaml.Append($"""
            keys:
              - id: demo
                hash: {KeyHasher.Hash(demoKey)}
            budgets:
              - id: demo-daily
                scope: key:demo
                window: daily
                cap_usd: 5.00
            bedtime:
              - scope: team:research

            """);

        var result = ConfigLoader.Parse(yaml.ToString(), "quickstart", options.Environment, PriceCatalog.Default);
        if (!result.Success)
        {
            throw new InvalidConfigurationException(result.Errors);
        }

        return (result.Config!, demoKey, adminKey);
    }
}
