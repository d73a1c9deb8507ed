using System.CommandLine;
using Purser.Configuration;
using Purser.Gateway.Cli;
using Purser.Pricing;

namespace Purser.Gateway.Hosting;

/// <summary>
/// The command line (System.CommandLine): <c>serve [--config FILE] [--urls URL] [--data DIR]</c> (also the default
/// with no command), <c>validate FILE</c>, <c>version</c>, <c>admin-key new</c>, and the operator commands that drive a running gateway's admin API
/// (<see cref="OperatorCommands"/>).
/// </summary>
internal static class Cli
{
    public static Task<int> RunAsync(string[] args)
    {
        var root = new RootCommand("Purser: an LLM API gateway that controls spend.");
        AddServe(root);
        var serve = new Command("serve", "Run the gateway (the default). With no configuration file, the offline quickstart.");
        AddServe(serve);
        root.Subcommands.Add(serve);
        root.Subcommands.Add(Validate());
        root.Subcommands.Add(SecretCommands.VersionCommand());
        root.Subcommands.Add(SecretCommands.AdminKey());
        foreach (var command in OperatorCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        // The host handles SIGTERM and Ctrl+C itself (it drains usage records before exiting), so System.CommandLine must not.
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static void AddServe(Command command)
    {
        var config = new Option<string?>("--config") { Description = "The YAML configuration (default: ./purser.yaml if present, else the quickstart)." };
        var urls = new Option<string?>("--urls") { Description = "Where to listen, overriding server.listen (e.g. http://127.0.0.1:0)." };
        var data = new Option<string>("--data") { Description = "The quickstart's data directory.", DefaultValueFactory = _ => "data" };
        command.Options.Add(config);
        command.Options.Add(urls);
        command.Options.Add(data);
        command.SetAction(parse => ServeAsync(parse.GetValue(config), parse.GetValue(urls), parse.GetValue(data)!));
    }

    private static Command Validate()
    {
        var file = new Argument<string>("config") { Description = "The YAML configuration to check." };
        var validate = new Command("validate", "Check a configuration file; lists every error with its line (exit 1 when there are any).") { file };
        validate.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var result = ConfigLoader.LoadFile(path, Environment.GetEnvironmentVariable, PriceCatalog.Default);
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine(error);
            }

            if (!result.Success)
            {
                Console.Error.WriteLine($"{path}: {result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}");
                return 1;
            }

            Console.WriteLine($"{path}: valid ({result.Config!.Models.Count} models, {result.Config.Keys.Count} keys)");
            return 0;
        });
        return validate;
    }

    private static async Task<int> ServeAsync(string? config, string? urls, string data)
    {
        config ??= File.Exists("purser.yaml") ? "purser.yaml" : null;
        GatewayHost host;
        try
        {
            host = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = urls, DataDirectory = data }).ConfigureAwait(false);
        }
        catch (InvalidConfigurationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using (host.ConfigureAwait(false))
        {
            if (host.DemoKey is { } demoKey)
            {
                Console.WriteLine($$"""

                    Purser quickstart: the bundled simulated provider serves the models sim-chat, claude-sim and sim-embed.
                    Demo key:  {{demoKey}}
                    Admin key: {{host.AdminKey}}   (for /admin and the operator commands: purser keys list --admin-key ...)

                      curl {{host.BaseAddress}}v1/chat/completions -H "Authorization: Bearer {{demoKey}}" -H "Content-Type: application/json" \
                        -d '{"model":"sim-chat","messages":[{"role":"user","content":"Hello"}]}'

                    """);
            }

            await host.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }
}
