using Purser.Configuration;
using Purser.Pricing;

namespace Purser.Gateway.Hosting;

/// <summary>
/// The command line: <c>serve [--config FILE] [--urls URL] [--data DIR]</c> (the default) and <c>validate FILE</c>.
/// </summary>
internal static class Cli
{
    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = command == "serve" && (args.Length == 0 || args[0].StartsWith('-')) ? args : args[1..];
        switch (command)
        {
            case "validate":
                return Validate(rest);
            case "serve":
                return await ServeAsync(rest).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{command}'. Commands: serve [--config FILE] [--urls URL] [--data DIR], validate FILE").ConfigureAwait(false);
                return 2;
        }
    }

    private static int Validate(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: purser validate FILE");
            return 2;
        }

        var result = ConfigLoader.LoadFile(args[0], Environment.GetEnvironmentVariable, PriceCatalog.Default);
        foreach (var error in result.Errors)
        {
            Console.Error.WriteLine(error);
        }

        if (result.Success)
        {
            Console.WriteLine($"{args[0]}: valid ({result.Config!.Models.Count} models, {result.Config.Keys.Count} keys)");
            return 0;
        }

        return 1;
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        string? config = null;
        string? urls = null;
        var data = "data";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--config" when value is not null:
                    config = value;
                    i++;
                    break;
                case "--urls" when value is not null:
                    urls = value;
                    i++;
                    break;
                case "--data" when value is not null:
                    data = value;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"Unknown or incomplete option '{args[i]}'.");
                    return 2;
            }
        }

        config ??= File.Exists("purser.yaml") ? "purser.yaml" : null;
        GatewayHost host;
        try
        {
            host = await GatewayHost.StartAsync(new GatewayHostOptions { ConfigPath = config, Urls = urls, DataDirectory = data }).ConfigureAwait(false);
        }
        catch (InvalidConfigurationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        await using (host.ConfigureAwait(false))
        {
            if (host.DemoKey is { } demoKey)
            {
                Console.WriteLine($$"""

                    Purser quickstart: the bundled simulated provider serves the models sim-chat, claude-sim and sim-embed.
                    Demo key:  {{demoKey}}
                    Admin key: {{host.AdminKey}}   (for /admin: keys, budgets, usage, events)

                      curl {{host.BaseAddress}}v1/chat/completions -H "Authorization: Bearer {{demoKey}}" -H "Content-Type: application/json" \
                        -d '{"model":"sim-chat","messages":[{"role":"user","content":"Hello"}]}'

                    """);
            }

            await host.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }
}
