using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Purser.Events;
using Purser.Events.Webhooks;
using Purser.Gateway.Logging;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Webhooks;

/// <summary>
/// Delivers events to webhook endpoints, off every request's path: a background loop on the injected clock turns new
/// events into durable deliveries, POSTs the due ones, and reschedules failures with exponential backoff. Because the
/// queue is in the database, a receiver that is down delays nothing and a restart resumes where it stopped. Each
/// delivery carries its id as the idempotency key, so a receiver that got a request but answered an error (and is
/// retried) can tell the repeat; the body is signed with HMAC-SHA256 under the endpoint's secret.
/// </summary>
internal sealed class WebhookDispatcher : BackgroundService
{
    public const string SignatureHeader = "x-purser-signature";
    public const string IdempotencyHeader = "idempotency-key";
    public const string EventHeader = "x-purser-event";

    /// <summary>How often new events are looked for when nothing is due sooner.</summary>
    public static readonly TimeSpan PollPeriod = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan LongestRetry = TimeSpan.FromHours(1);

    /// <summary>About a day of retries (2 s doubling to an hour) before a delivery is marked failed.</summary>
    public const int MaxAttempts = 30;

    private readonly IWebhookStore _store;
    private readonly Lazy<HttpClient> _http;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookDispatcher> _logger;

    public WebhookDispatcher(IWebhookStore store, TimeProvider time, ILogger<WebhookDispatcher> logger)
    {
        _store = store;
        _time = time;
        _logger = logger;

        // Its own client: a slow receiver must not share a connection pool or timeout with upstream providers. Created on
        // the first delivery: most gateways have no webhook, and an HttpClient loads the TLS stack (~2 MiB of
        // resident pages) at start-up for nothing.
        _http = new Lazy<HttpClient>(() => new HttpClient { Timeout = TimeSpan.FromSeconds(10) });
    }

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>The delay before attempt <paramref name="attempts"/> + 1: 2 s, 4 s, 8 s, … up to an hour.</summary>
    public static TimeSpan Backoff(int attempts)
    {
        var seconds = FirstRetry.TotalSeconds * Math.Pow(2, Math.Max(0, attempts - 1));
        return seconds >= LongestRetry.TotalSeconds ? LongestRetry : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>The JSON document delivered for an event.</summary>
    public static string Body(GatewayEvent e)
    {
        using var buffer = new PooledBufferWriter();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id"u8, e.Id);
            json.WriteString("type"u8, e.Type);
            json.WriteString("timestamp"u8, e.Timestamp.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("scope"u8, e.Scope);
            json.WriteString("budget_id"u8, e.BudgetId);
            json.WriteString("window"u8, e.WindowKey);
            json.WriteString("request_id"u8, e.RequestId);
            json.WriteString("message"u8, e.Message);
            if (e.DataJson is { } data)
            {
                json.WritePropertyName("data"u8);
                json.WriteRawValue(data);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>One pass: queue new events, then attempt every due delivery. Returns how many were attempted.</summary>
    public async Task<int> PumpAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        while (await _store.FanOutAsync(Body, now, 500, ct).ConfigureAwait(false) > 0)
        {
            // Drain a burst of events in one pass; FanOutAsync reads at most 500 at a time.
        }

        var due = await _store.DueAsync(now, 100, ct).ConfigureAwait(false);
        if (due.Count == 0)
        {
            return 0;
        }

        var endpoints = new Dictionary<string, WebhookEndpoint>(StringComparer.Ordinal);
        foreach (var endpoint in await _store.ListEndpointsAsync(ct).ConfigureAwait(false))
        {
            endpoints[endpoint.Id] = endpoint;
        }

        foreach (var delivery in due)
        {
            if (endpoints.TryGetValue(delivery.EndpointId, out var endpoint))
            {
                await DeliverAsync(endpoint, delivery, ct).ConfigureAwait(false);
            }
        }

        return due.Count;
    }

    public override void Dispose()
    {
        if (_http.IsValueCreated)
        {
            _http.Value.Dispose();
        }

        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PumpAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.WebhookPumpFailed(_logger, ex);
            }

            try
            {
                await Task.Delay(PollPeriod, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task DeliverAsync(WebhookEndpoint endpoint, WebhookDelivery delivery, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Body);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(endpoint.Secret, body));
        request.Headers.TryAddWithoutValidation(IdempotencyHeader, delivery.Id);
        request.Headers.TryAddWithoutValidation(EventHeader, delivery.EventType);
        request.Headers.TryAddWithoutValidation("x-purser-attempt", (delivery.Attempts + 1).ToString(CultureInfo.InvariantCulture));
        int? status = null;
        string? error = null;
        try
        {
            using var response = await _http.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            status = (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            error = ex is TaskCanceledException ? "timeout" : "unreachable: " + ex.HttpRequestErrorName();
        }

        var attempts = delivery.Attempts + 1;
        var now = _time.GetUtcNow();
        if (status is >= 200 and < 300)
        {
            await _store.RecordAttemptAsync(delivery.Id, WebhookDeliveryState.Delivered, attempts, now, status, null, CancellationToken.None).ConfigureAwait(false);
            return;
        }

        error ??= "HTTP " + status?.ToString(CultureInfo.InvariantCulture);
        var state = attempts >= MaxAttempts ? WebhookDeliveryState.Failed : WebhookDeliveryState.Pending;
        Log.WebhookAttemptFailed(_logger, endpoint.Id, delivery.Id, attempts, error);
        await _store.RecordAttemptAsync(delivery.Id, state, attempts, now + Backoff(attempts), status, error, CancellationToken.None).ConfigureAwait(false);
    }
}
