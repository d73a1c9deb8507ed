using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Purser.SimulatedProvider.Common;

namespace Purser.SimulatedProvider;

/// <summary>
/// A fake OpenAI + Anthropic server (chat completions, responses, messages, embeddings, models) for demos, tests and
/// benchmarks. Behaviour per request is chosen by the model name (<c>sim-chat~out=64,ttft=20,fail=429</c>)
/// or <c>x-sim-*</c> headers; see the project's token-counting rule in <c>TokenCounter</c>.
/// </summary>
public sealed class SimulatedProviderServer : IAsyncDisposable
{
    private const int TraceparentsKept = 256;

    private readonly WebApplication app;
    private readonly ConcurrentQueue<string> traceparents;

    private SimulatedProviderServer(WebApplication app, Uri baseAddress, ConcurrentQueue<string> traceparents)
    {
        this.app = app;
        this.traceparents = traceparents;
        BaseAddress = baseAddress;
    }

    /// <summary>
    /// The W3C <c>traceparent</c> headers of the latest requests that carried one (up to 256), oldest first: what a
    /// real provider would see of a caller's trace.
    /// </summary>
    public IReadOnlyCollection<string> ReceivedTraceparents => traceparents.ToArray();

    /// <summary>The real bound address, e.g. <c>http://127.0.0.1:41234</c> when started on port 0.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Signalled when the host begins stopping (Ctrl+C, SIGTERM or <see cref="DisposeAsync"/>).</summary>
    internal CancellationToken Stopping => app.Lifetime.ApplicationStopping;

    public static Task<SimulatedProviderServer> StartAsync(string url = "http://127.0.0.1:0", CancellationToken ct = default) =>
        StartAsync(url, TimeProvider.System, ct);

    /// <summary>Starts with an explicit clock for the <c>created</c> timestamps and the simulated delays.</summary>
    public static async Task<SimulatedProviderServer> StartAsync(string url, TimeProvider timeProvider, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentNullException.ThrowIfNull(timeProvider);

        // The empty builder reads no appsettings, environment or Kestrel config sections, so hosting it inside
        // the gateway's process cannot pick up the gateway's endpoints or settings.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls(url);
        builder.WebHost.ConfigureKestrel(static options =>
        {
            options.AddServerHeader = false;
            options.Limits.MinResponseDataRate = null;
        });
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(static options => options.ShutdownTimeout = TimeSpan.FromSeconds(2));

        WebApplication app = builder.Build();
        var router = new SimRouter(new SimContext(timeProvider, app.Lifetime.ApplicationStopping));
        var traceparents = new ConcurrentQueue<string>();
        app.Run(context =>
        {
            if (context.Request.Headers.TryGetValue("traceparent", out var traceparent))
            {
                traceparents.Enqueue(traceparent.ToString());
                while (traceparents.Count > TraceparentsKept && traceparents.TryDequeue(out _))
                {
                }
            }

            return router.HandleAsync(context);
        });
        await app.StartAsync(ct).ConfigureAwait(false);

        ICollection<string> addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        string bound = addresses.Count > 0 ? addresses.First() : url;
        return new SimulatedProviderServer(app, new Uri(bound), traceparents);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
