using System.Diagnostics;

namespace Purser.Gateway.Tests.Infrastructure;

/// <summary>Runs the built <c>purser.dll</c> as a real process, as an operator would, and collects what it printed.</summary>
public static class PurserProcess
{
    public static ProcessStartInfo StartInfo(string workDir, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet", ["exec", "--runtimeconfig", Path.Combine(AppContext.BaseDirectory, "purser.runtimeconfig.json"), Path.Combine(AppContext.BaseDirectory, "purser.dll"), .. args])
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // An operator's shell may set these; a test decides them itself.
        start.Environment.Remove("PURSER_ADMIN_KEY");
        start.Environment.Remove("PURSER_URL");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }

    /// <summary>Runs a command to completion (bounded to 60 seconds).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string workDir, params string[] args) =>
        await RunAsync(workDir, null, args);

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string workDir, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(workDir, args, environment))!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60), TimeProvider.System);
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var error = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output, await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
