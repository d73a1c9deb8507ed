using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>
/// The <c>purser</c> binary installed exactly as the README says: its install block (scripts/publish.sh, then install
/// into ~/.local/bin) run once per test run by bash in the repository, with HOME a temporary directory. The publish
/// takes about a minute; every test of the collection reuses it.
/// </summary>
public sealed partial class PublishedPurser : IAsyncLifetime
{
    public string Home { get; } = Path.Combine(Path.GetTempPath(), "purser-home-" + Guid.NewGuid().ToString("N"));

    /// <summary>The installed binary, $HOME/.local/bin/purser.</summary>
    public string Binary => Path.Combine(Home, ".local", "bin", "purser");

    /// <summary>What the install block printed (its last command is <c>purser version</c>).</summary>
    public string InstallOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Home);
        var install = Assert.Single(Readme.ShellBlocks(), b => b.Marker == "install");
        var (exit, output) = await RunBashAsync(install.Text, Readme.RepositoryRoot, TimeSpan.FromMinutes(10));
        InstallOutput = output;
        Assert.True(exit == 0, "the README's install block failed:\n" + output);
        Assert.True(File.Exists(Binary), "the install block put no purser in ~/.local/bin:\n" + output);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp directory: harmless.
        }

        return Task.CompletedTask;
    }

    /// <summary>An environment as after the install block: HOME, ~/.local/bin first on PATH, no operator settings.</summary>
    public ProcessStartInfo StartInfo(string fileName, IEnumerable<string> args, string workDir)
    {
        var start = new ProcessStartInfo(fileName, args)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["HOME"] = Home;
        start.Environment["PATH"] = Path.GetDirectoryName(Binary) + ":" + Environment.GetEnvironmentVariable("PATH");
        foreach (var name in new[] { "PURSER_ADMIN_KEY", "PURSER_URL", "KEY", "ADMIN_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT" })
        {
            start.Environment.Remove(name);
        }

        return start;
    }

    /// <summary>Runs a bash script to completion (bounded); returns its exit code and its output and errors interleaved by stream.</summary>
    public async Task<(int ExitCode, string Output)> RunBashAsync(string script, string workDir, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = StartInfo("bash", ["-c", script], workDir);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(limit, TimeProvider.System);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + "\n--- stderr ---\n" + await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>A gateway process started by <paramref name="command"/> (a bash command line), serving once it printed its address.</summary>
    public async Task<Served> ServeAsync(string command, string workDir)
    {
        var process = Process.Start(StartInfo("bash", ["-c", "exec " + command], workDir))!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        string? url = null;
        try
        {
            while (url is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                url = Listening().Match(line) is { Success: true } m ? m.Groups[1].Value : null;
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below with what it printed.
        }

        if (url is null)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            Assert.Fail($"'{command}' printed no address within 60 s:\n{output}");
        }

        return new Served(process, new Uri(url!), output);
    }

    [GeneratedRegex(@"Purser listening on (http://\S+)")]
    private static partial Regex Listening();

    /// <summary>A running gateway process; <see cref="StopAsync"/> sends SIGTERM and returns its exit code and remaining output.</summary>
    public sealed class Served(Process process, Uri address, StringBuilder output) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public string Output => output.ToString();

        public async Task<int> StopAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), TimeProvider.System);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(timeout.Token);
            }

            output.Append(await process.StandardOutput.ReadToEndAsync(timeout.Token));
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode;
        }

        public ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PublishedPurserCollection : ICollectionFixture<PublishedPurser>
{
    public const string Name = "published purser";
}
