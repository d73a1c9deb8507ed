using System.Collections.Concurrent;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Logging;
using Purser.Gateway.Pipeline;
using Purser.Gateway.Upstream;
using Purser.Pricing;
using Purser.Responses;

namespace Purser.Gateway.Responses;

/// <summary>
/// Every <c>background</c> response ends with exactly one usage record that carries its cost, even when the caller
/// never retrieves it. On the ledger sweeps' loop (the injected clock), pending background responses older than
/// <see cref="FirstPoll"/> are retrieved from the provider that created them, each at most every
/// <see cref="PollEvery"/>: one found finished is settled from its usage (record <c>background_settled</c>); one
/// gone at the provider (404), or still unfinished <see cref="ExpiryMargin"/> before its hold would expire, is charged
/// its hold in full (record <c>background_expired</c>) — so the ledger's hold expiry never charges it without a record.
/// The claim in the route store makes the caller's retrieval and every instance's sweep settle it once.
/// </summary>
internal sealed class BackgroundResponseSweep : LedgerSweep
{
    /// <summary>A background response is first polled this long after it was created.</summary>
    public static readonly TimeSpan FirstPoll = TimeSpan.FromMinutes(1);

    /// <summary>Then at most this often, per response and instance.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMinutes(1);

    /// <summary>Still unfinished this long before its hold expires, a response is charged its hold in full.</summary>
    public static readonly TimeSpan ExpiryMargin = TimeSpan.FromMinutes(5);

    private const int Batch = 100;
    private const int MaxUpstreamBodyBytes = 64 * 1024 * 1024;

    private readonly ResponseRoutes _routes;
    private readonly BackgroundSettlement _settlement;
    private readonly ConfigMonitor _config;
    private readonly UpstreamClient _upstream;
    private readonly UsageRecorder _usage;
    private readonly ILogger<BackgroundResponseSweep> _logger;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _nextPoll = new(StringComparer.Ordinal);

    public BackgroundResponseSweep(ResponseRoutes routes, BackgroundSettlement settlement, ConfigMonitor config, UpstreamClient upstream, UsageRecorder usage, BudgetEvents events, TimeProvider time, ILogger<BackgroundResponseSweep> logger)
        : base(events, time)
    {
        _routes = routes;
        _settlement = settlement;
        _config = config;
        _upstream = upstream;
        _usage = usage;
        _logger = logger;
    }

    protected override string Work => "Settling background responses";

    protected override void LogFailure(Exception exception) => Log.BackgroundSweepFailed(_logger, exception);

    protected override async Task SweepAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var pending = await _routes.PendingAsync(now - FirstPoll, Batch, cancellationToken).ConfigureAwait(false);
        if (pending.Count == 0)
        {
            _nextPoll.Clear();
            return;
        }

        foreach (var route in pending)
        {
            var expiring = now >= route.CreatedAt + ResponsesProxy.BackgroundHoldTtl - ExpiryMargin;
            if (!expiring && _nextPoll.TryGetValue(route.ResponseId, out var next) && now < next)
            {
                continue;
            }

            _nextPoll[route.ResponseId] = now + PollEvery;
            var (settled, outcome) = await PollAsync(route, cancellationToken).ConfigureAwait(false);
            if (settled is null && (expiring || outcome == Gone))
            {
                settled = await _settlement.InFullAsync(route, outcome == Gone ? "gone at the provider" : "unfinished as its hold expires").ConfigureAwait(false);
                outcome = Expired;
            }

            if (settled is { } done)
            {
                _nextPoll.TryRemove(route.ResponseId, out _);
                var call = new CallRecord("bg-" + route.ResponseId, route.KeyId, "responses", Time.GetTimestamp())
                {
                    ModelAlias = route.ModelAlias,
                    Provider = route.Provider,
                    UpstreamModel = route.UpstreamModel,
                };
                await _usage.FinishAsync(call, 200, outcome, done.Usage, done.Source, done.Cost, null).ConfigureAwait(false);
            }
        }
    }

    private const string Settled = "background_settled";
    private const string Expired = "background_expired";
    private const string Gone = "background_gone";

    /// <summary>Retrieves the response from its provider and settles it if finished; how the retrieval went.</summary>
    private async Task<(BackgroundSettlement.Settled? Settled, string Outcome)> PollAsync(ResponseRoute route, CancellationToken ct)
    {
        var state = _config.Current;
        if (BackgroundSettlement.Target(state, route) is not { } model)
        {
            return (null, "provider_not_configured");
        }

        var uri = new Uri(model.Upstream.ResponsesUri.AbsoluteUri + "/" + Uri.EscapeDataString(route.ResponseId));
        using var request = UpstreamRequest.CreateBodiless(model.Upstream, HttpMethod.Get, uri);
        using var deadline = _upstream.Deadline(TimeSpan.FromSeconds(state.Config.Server.UpstreamTimeoutSeconds), ct);
        var sent = await _upstream.SendAsync(request, route.Provider, route.ModelAlias, deadline).ConfigureAwait(false);
        if (sent.Response is not { } response)
        {
            return (null, "upstream_unreachable");
        }

        using (response)
        {
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return (null, Gone);
            }

            if (!response.IsSuccessStatusCode)
            {
                return (null, "upstream_error");
            }

            byte[] body;
            try
            {
                body = await UpstreamBody.ReadBoundedAsync(response.Content, MaxUpstreamBodyBytes, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (UpstreamClient.IsReadFailure(ex))
            {
                return (null, "upstream_unreadable");
            }

            return (await _settlement.FromResponseAsync(route, body, model.Model.Price ?? ModelPrice.Free).ConfigureAwait(false), Settled);
        }
    }
}
