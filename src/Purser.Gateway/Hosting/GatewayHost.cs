using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Purser.Admin;
using Purser.Bedtime;
using Purser.Budgets;
using Purser.Configuration;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Gateway.Admin;
using Purser.Gateway.Bedtime;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Proxy;
using Purser.Gateway.Endpoints;
using Purser.Gateway.Logging;
using Purser.Gateway.Webhooks;
using Purser.Pricing;
using Purser.Usage;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Upstream;

namespace Purser.Gateway.Hosting;

/// <summary>
/// A running gateway: the web server, its configuration monitor, its usage store and, in the quickstart, the simulated
/// provider it fronts. Disposing stops serving first and then drains every buffered usage record (and, on PostgreSQL, every pending settlement) to the store.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GatewayStorage _storage;
    private readonly IAsyncDisposable? _simulator;
    private readonly ConfigMonitor _config;

    private GatewayHost(WebApplication app, GatewayStorage storage, IAsyncDisposable? simulator, ConfigMonitor config, Uri baseAddress, string? demoKey, string? adminKey)
    {
        AdminKey = adminKey;
        _app = app;
        _storage = storage;
        _simulator = simulator;
        _config = config;
        BaseAddress = baseAddress;
        DemoKey = demoKey;
    }

    /// <summary>The gateway's own address, e.g. http://127.0.0.1:8080.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The quickstart's virtual key, null when a config file was given.</summary>
    public string? DemoKey { get; }

    /// <summary>The quickstart's admin (master) key, null when a config file was given.</summary>
    public string? AdminKey { get; }

    /// <summary>The gateway's services, for tests that look at the ledger directly.</summary>
    public IServiceProvider Services => _app.Services;

    public IUsageStore Usage => _storage.Usage;

    /// <summary>Waits until every usage record recorded so far is on disk.</summary>
    public Task FlushUsageAsync(CancellationToken cancellationToken = default) => _storage.Export.FlushAsync(cancellationToken);

    /// <summary>Reloads the configuration file now; returns the errors (empty when it took effect).</summary>
    public IReadOnlyList<ConfigError> ReloadConfiguration() => _config.Reload();

    public static async Task<GatewayHost> StartAsync(GatewayHostOptions options, CancellationToken cancellationToken = default)
    {
        // 1. Configuration: the operator's file, or the quickstart's generated one fronting the simulated provider.
        IAsyncDisposable? simulator = null;
        string? demoKey = null;
        string? adminKey = null;
        PurserConfig config;
        if (options.ConfigPath is { } path)
        {
            var loaded = ConfigLoader.LoadFile(path, options.Environment, PriceCatalog.Default);
            if (!loaded.Success)
            {
                throw new InvalidConfigurationException(loaded.Errors);
            }

            config = loaded.Config!;
        }
        else
        {
            (simulator, config, demoKey, adminKey) = await Quickstart.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }

        var builder = WebApplication.CreateSlimBuilder();
        var jsonLogs = TelemetrySetup.JsonLogs(config.Telemetry, options);
        TelemetrySetup.ConfigureLogging(builder.Logging, jsonLogs);
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);

        // Hosting starts an Activity and a log scope for every request whenever this category is enabled at any level,
        // and HttpClient then stamps a traceparent on the upstream call; the gateway exports no traces, so that is pure
        // per-request cost (its only messages are request start/finish at Information, filtered out above anyway).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.WebHost.UseUrls(options.Urls ?? config.Server.Listen);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // The gateway enforces its own, reloadable limit while reading, and answers 413 in the caller's format.
            kestrel.Limits.MaxRequestBodySize = null;
        });

        // 2. Services: one of each, shared by every request.
        ILogger? storeLogger = null;
        var storage = GatewayStorage.Open(config.Storage, options.Time, ex =>
        {
            if (storeLogger is not null)
            {
                Log.UsageWriteFailed(storeLogger, ex);
            }
        }, (loop, ex) =>
        {
            if (storeLogger is not null)
            {
                Log.BackgroundWorkFailed(storeLogger, loop, ex);
            }
        });
        var admin = storage.Admin;
        var storedKeys = await admin.ListKeysAsync(cancellationToken).ConfigureAwait(false);
        var storedBudgets = await admin.ListBudgetsAsync(cancellationToken).ConfigureAwait(false);
        var storedAliases = await admin.ListAliasesAsync(cancellationToken).ConfigureAwait(false);
        var storedRateLimits = await storage.RateLimits.ListAsync(cancellationToken).ConfigureAwait(false);
        var services = builder.Services;
        services.AddSingleton(options.Time);
        storage.Register(services);

        // First of the hosted services: the stores' loops start before the others and stop after them (BackgroundLoops).
        services.AddHostedService(_ => new BackgroundLoops(storage));
        services.AddSingleton(sp => new ConfigMonitor(new GatewayState(config, storedKeys, storedBudgets, storedAliases, storedRateLimits), options.ConfigPath, options.Environment, options.Time, sp.GetRequiredService<ILogger<ConfigMonitor>>()));
        services.AddSingleton<TaskBudgets>();
        var failOpen = config.Storage.FailOpenLocalCap is { } localCap ? new FailOpenAllowance(localCap, options.Time) : null;
        if (failOpen is not null)
        {
            services.AddSingleton(failOpen); // read by /readyz
        }

        services.AddSingleton(sp => new EndUserCounters(sp.GetRequiredService<IBudgetLedger>()));
        services.AddSingleton(sp => new BudgetAdmission(sp.GetRequiredService<IBudgetLedger>(), sp.GetRequiredService<TaskBudgets>(), options.Time, sp.GetRequiredService<BudgetEvents>(), failOpen)
        {
            EndUsers = sp.GetRequiredService<EndUserCounters>(),
        });
        services.AddSingleton<BudgetEvents>();
        services.AddHostedService(sp => sp.GetRequiredService<BudgetEvents>());
        services.AddHostedService<HoldExpiry>();
        services.AddHostedService<ReservationExpiry>();
        services.AddSingleton<Usage.UsageRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<Usage.UsageRetention>());
        var storedBedtime = await storage.Bedtime.ListAsync(cancellationToken).ConfigureAwait(false);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BedtimeGuard>(sp, storedBedtime));
        services.AddHostedService<WebhookDispatcher>();

        // Operators' changes: written and announced in one place (the admin services), applied on every instance.
        services.AddSingleton<Propagation.SharedState>();
        services.AddSingleton<Propagation.AdminChanges>();
        services.AddSingleton<Propagation.ChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<Propagation.ChangeListener>());
        services.AddSingleton<AdminServices.KeyAdmin>();
        services.AddSingleton<AdminServices.BudgetAdmin>();
        services.AddSingleton<AdminServices.AliasAdmin>();
        services.AddSingleton<AdminServices.RateLimitAdmin>();
        services.AddSingleton<AdminServices.BedtimeAdmin>();
        services.AddSingleton<AdminServices.WebhookAdmin>();
        services.AddSingleton(_ => UpstreamHttp.CreateClient());
        services.AddSingleton<UsageRecorder>();
        services.AddSingleton<Upstream.UpstreamClient>();
        services.AddSingleton<CallGuard>();
        services.AddSingleton<CallOpening>();
        services.AddSingleton<ChatRelay>();
        services.AddSingleton(new RateLimiter(options.Time, storage.Changes is null ? null : storage.RateLimits));
        services.AddHostedService<RateSliceReturns>();
        services.AddSingleton<RateGate>();
        services.AddSingleton<Routing.RouteHealth>();
        services.AddSingleton<Routing.AliasCaller>();
        services.AddSingleton<Ensembles.EnsembleExecutor>();
        services.AddSingleton<ChatProxy>();
        services.AddSingleton<CountTokensProxy>();
        services.AddSingleton<EmbeddingsProxy>();
        services.AddSingleton<Responses.ResponseRoutes>();
        services.AddSingleton<Responses.ResponsesProxy>();
        services.AddSingleton<Responses.StoredResponsesProxy>();
        services.AddSingleton<Responses.BackgroundSettlement>();
        services.AddHostedService<Responses.BackgroundResponseSweep>();
        var telemetry = TelemetrySetup.AddTelemetry(services, config.Telemetry, options);
        Dashboard.DashboardSetup.AddDashboard(services);

        var app = builder.Build();
        storeLogger = app.Services.GetRequiredService<ILogger<GatewayHost>>();
        TelemetrySetup.Use(app, telemetry);
        app.UseMiddleware<Errors.UnmatchedRoutes>();
        if (jsonLogs)
        {
            app.UseMiddleware<Telemetry.RequestLogScope>();
        }

        app.MapProxyEndpoints();
        app.MapHealthEndpoints();
        app.MapAdminEndpoints();
        Dashboard.DashboardEndpoints.MapDashboard(app);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var logger = storeLogger;
        Log.Listening(logger, address);
        var monitor = app.Services.GetRequiredService<ConfigMonitor>();
        return new GatewayHost(app, storage, simulator, monitor, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), demoKey, adminKey);
    }

    /// <summary>Serves until the process is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _storage.DisposeAsync().ConfigureAwait(false);
        if (_simulator is not null)
        {
            await _simulator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
