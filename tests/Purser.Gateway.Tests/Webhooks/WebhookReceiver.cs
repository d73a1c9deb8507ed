using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Purser.Gateway.Tests.Webhooks;

/// <summary>
/// A real HTTP webhook receiver on 127.0.0.1: records every delivery attempt and answers with the status the test's
/// policy chooses for that idempotency key and attempt number. <see cref="Hold"/> makes it hang until released.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app, Func<string, int, int> status)
    {
        _app = app;
        Status = status;
    }

    public record Attempt(string IdempotencyKey, string Signature, string EventType, string Body, int Status);

    public ConcurrentQueue<Attempt> Attempts { get; } = new();

    public Func<string, int, int> Status { get; set; }

    /// <summary>When set, every request waits for it before answering.</summary>
    public TaskCompletionSource? Hold { get; set; }

    public Uri Url { get; private set; } = null!;

    public static async Task<WebhookReceiver> StartAsync(Func<string, int, int> status)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, status);
        app.MapPost("/hook", receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(address + "/hook");
        return receiver;
    }

    /// <summary>The attempts that were answered with a 2xx, by idempotency key.</summary>
    public Dictionary<string, Attempt> Accepted() =>
        Attempts.Where(a => a.Status is >= 200 and < 300).GroupBy(a => a.IdempotencyKey).ToDictionary(g => g.Key, g => g.First());

    public async ValueTask DisposeAsync()
    {
        Hold?.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        if (Hold is { } hold)
        {
            await hold.Task;
        }

        var key = context.Request.Headers["idempotency-key"].ToString();
        var attempt = _attempts.AddOrUpdate(key, 1, (_, n) => n + 1);
        var status = Status(key, attempt);
        Attempts.Enqueue(new Attempt(key, context.Request.Headers["x-purser-signature"].ToString(), context.Request.Headers["x-purser-event"].ToString(), body, status));
        context.Response.StatusCode = status;
    }
}
