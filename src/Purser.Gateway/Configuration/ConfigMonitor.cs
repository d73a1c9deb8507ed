using System.Runtime.InteropServices;
using Purser.Configuration;
using Purser.Gateway.Logging;
using Purser.Pricing;

namespace Purser.Gateway.Configuration;

/// <summary>
/// Owns the current <see cref="GatewayState"/> and reloads it when the file changes or the process gets SIGHUP.
/// An invalid file is reported error by error and the last good state keeps serving.
/// <para>
/// The file is polled (one stat every <see cref="PollInterval"/>), not watched: on Linux a watcher listens to the whole
/// directory, and the SQLite database often lives next to the config, so every usage batch written woke the watcher's
/// thread several times — about 5 µs of CPU per proxied request under load. A change is now seen within the interval.
/// </para>
/// </summary>
internal sealed class ConfigMonitor : IDisposable
{
    private readonly string? _path;
    private readonly Func<string, string?> _environment;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    /// <summary>How often the file's size and write time are compared with the last seen ones.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a burst of writes must settle before the file is read.</summary>
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);

    private readonly ITimer? _poll;
    private readonly PosixSignalRegistration? _sighup;
    private readonly Lock _reloadLock = new();
    private ITimer? _debounce;
    private (DateTime Written, long Length) _seen;
    private volatile GatewayState _current;

    public ConfigMonitor(GatewayState initial, string? path, Func<string, string?> environment, TimeProvider time, ILogger logger)
    {
        _time = time;
        _current = initial;
        _path = path is null ? null : Path.GetFullPath(path);
        _environment = environment;
        _logger = logger;
        LogAliasErrors(initial);
        if (_path is null)
        {
            return;
        }

        _seen = Stamp(_path);
        _poll = _time.CreateTimer(_ => Guarded(Poll), null, PollInterval, PollInterval);
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Guarded(() => Reload());
            });
        }
    }

    public GatewayState Current => _current;

    /// <summary>Raised after a successful reload, with the new state.</summary>
    public event Action<GatewayState>? Reloaded;

    /// <summary>Loads the file again; returns the errors, empty when the new configuration took effect.</summary>
    public IReadOnlyList<ConfigError> Reload()
    {
        if (_path is null)
        {
            return [];
        }

        lock (_reloadLock)
        {
            var result = ConfigLoader.LoadFile(_path, _environment, PriceCatalog.Default);
            if (!result.Success)
            {
                foreach (var error in result.Errors)
                {
                    Log.ConfigReloadRejected(_logger, error.ToString());
                }

                return result.Errors;
            }

            var state = new GatewayState(result.Config!, _current.StoredKeys, _current.StoredBudgets, _current.StoredAliasDefinitions, _current.StoredRateLimitDefinitions);
            LogAliasErrors(state);
            _current = state;
            Log.ConfigReloaded(_logger, state.Config.Models.Count, state.Keys.Count);
            Reloaded?.Invoke(state);
            return [];
        }
    }

    /// <summary>Rebuilds the state after the admin API changed stored keys, budgets, routes or ensembles.</summary>
    public void ApplyStored(IReadOnlyList<Purser.Admin.StoredKey> keys, IReadOnlyList<Purser.Budgets.BudgetDefinition> budgets, IReadOnlyList<Purser.Admin.StoredAlias> aliases, IReadOnlyList<Purser.RateLimits.StoredRateLimit> rateLimits)
    {
        lock (_reloadLock)
        {
            var state = new GatewayState(_current.FileConfig, keys, budgets, aliases, rateLimits);
            LogAliasErrors(state);
            _current = state;
            Reloaded?.Invoke(state);
        }
    }

    /// <summary>Reports stored aliases the current file does not support (they are left out, the rest keeps serving).</summary>
    public void LogAliasErrors(GatewayState state)
    {
        foreach (var error in state.AliasErrors)
        {
            Log.StoredAliasSkipped(_logger, error.ToString());
        }

        foreach (var error in state.RateLimitErrors)
        {
            Log.StoredRateLimitSkipped(_logger, error.ToString());
        }
    }

    public void Dispose()
    {
        _poll?.Dispose();
        _sighup?.Dispose();
        _debounce?.Dispose();
    }

    /// <summary>The file's write time and size (zero and -1 while it is missing, e.g. mid-replace).</summary>
    private static (DateTime Written, long Length) Stamp(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (default, -1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (default, -1);
        }
    }

    private void Poll()
    {
        var stamp = Stamp(_path!);
        if (stamp != _seen)
        {
            _seen = stamp;
            ScheduleReload();
        }
    }

    private void ScheduleReload()
    {
        // Editors write a file in several steps; wait for the burst of events to settle before reading it.
        var timer = _time.CreateTimer(_ => Guarded(() => Reload()), null, Debounce, Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _debounce, timer)?.Dispose();
    }

    /// <summary>
    /// Runs a timer's or signal's work: a failure (an unreadable file, a subscriber that throws) is logged and the
    /// next poll tries again, instead of ending the process from a timer thread.
    /// </summary>
    private void Guarded(Action work)
    {
        try
        {
            work();
        }
        catch (Exception ex)
        {
            Log.BackgroundWorkFailed(_logger, nameof(ConfigMonitor), ex);
        }
    }
}
