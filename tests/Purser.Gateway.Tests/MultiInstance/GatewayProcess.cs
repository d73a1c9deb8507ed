using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Purser.Gateway.Tests.MultiInstance;

/// <summary>
/// The built gateway (<c>purser.dll serve --config FILE</c>) as a separate process on an ephemeral loopback port. Its
/// output is drained in the background (so a chatty log never blocks it) and kept for failure messages.
/// </summary>
internal sealed partial class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private GatewayProcess(Process process, StringBuilder output, Uri baseAddress)
    {
        _process = process;
        _output = output;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static Task<GatewayProcess> StartAsync(string configPath, IReadOnlyDictionary<string, string> environment) =>
        StartAsync("dotnet", ["exec", "--runtimeconfig", Path.Combine(AppContext.BaseDirectory, "purser.runtimeconfig.json"),
            Path.Combine(AppContext.BaseDirectory, "purser.dll"), "serve", "--config", configPath, "--urls", "http://127.0.0.1:0"],
            Path.GetDirectoryName(configPath)!, environment);

    /// <summary>Any purser executable (the native binary, say) with its own arguments, started in <paramref name="workDir"/>.</summary>
    public static async Task<GatewayProcess> StartAsync(string fileName, IEnumerable<string> args, string workDir, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(fileName, args)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (Listening().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }

        var exited = process.WaitForExitAsync();
        var done = await Task.WhenAny(listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(45), TimeProvider.System));
        if (done != listening.Task)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            string text;
            lock (output)
            {
                text = output.ToString();
            }

            process.Dispose();
            throw new InvalidOperationException("The gateway did not start:\n" + text);
        }

        return new GatewayProcess(process, output, await listening.Task);
    }

    /// <summary>SIGKILL: no shutdown hook runs, buffered usage records and unsettled holds are lost with the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20), TimeProvider.System);
    }

    /// <summary>SIGTERM, then waits for the clean shutdown (usage records and pending settlements drained).</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30), TimeProvider.System);
        Assert.True(_process.ExitCode == 0, "unclean exit " + _process.ExitCode + ":\n" + Output);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Purser listening on (http://\S+)")]
    private static partial Regex Listening();
}
