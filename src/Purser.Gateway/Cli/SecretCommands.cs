using System.CommandLine;
using System.Reflection;
using Purser.Keys;

namespace Purser.Gateway.Cli;

/// <summary>
/// Commands that need no gateway: <c>version</c>, <c>admin-key new</c> (a new admin secret and the
/// <c>admin_key_hash</c> line for the file) and <c>keys hash</c> (the <c>sha256:</c> form of a key for the file).
/// Secrets are printed once, to standard output only, and never written anywhere.
/// </summary>
internal static class SecretCommands
{
    /// <summary>"0.1.0+abc123…": the assembly's informational version (the commit is appended by the SDK when built from git).</summary>
    public static string Version =>
        typeof(SecretCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static Command VersionCommand()
    {
        var version = new Command("version", "Print the version of this purser binary.");
        version.SetAction(_ =>
        {
            Console.WriteLine("purser " + Version);
            return 0;
        });
        return version;
    }

    public static Command AdminKey()
    {
        var adminKey = new Command("admin-key", "The admin (master) key of server.admin_key_hash.");
        var create = new Command("new", "Print a new admin key once, and the admin_key_hash line for the configuration file.");
        create.SetAction(_ =>
        {
            var secret = KeyHasher.NewSecret();
            Console.WriteLine($"Admin key (shown once, store it now): {secret}");
            Console.WriteLine("In purser.yaml, under server:");
            Console.WriteLine($"  admin_key_hash: {KeyHasher.Hash(secret)}");
            return 0;
        });
        adminKey.Subcommands.Add(create);
        return adminKey;
    }

    public static Command Hash()
    {
        var secret = new Argument<string?>("secret")
        {
            Description = "The key to hash; omitted, one line is read from standard input (keeps it out of the shell history).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var hash = new Command("hash", "Print the sha256: form of a key, for keys[].hash in the configuration file (no gateway needed).") { secret };
        hash.SetAction(async (parse, ct) =>
        {
            var text = parse.GetValue(secret) ?? await Console.In.ReadLineAsync(ct).ConfigureAwait(false);
            text = text?.Trim();
            if (string.IsNullOrEmpty(text))
            {
                await Console.Error.WriteLineAsync("error: no key: pass it as an argument or on standard input.").ConfigureAwait(false);
                return 2;
            }

            Console.WriteLine(KeyHasher.Hash(text));
            return 0;
        });
        return hash;
    }
}
