using Purser.Gateway.Auth;
using Purser.Gateway.Budgets;
using Purser.Gateway.Configuration;
using Purser.Gateway.Errors;
using Purser.Gateway.Upstream;
using Purser.Gateway.Wire;
using Purser.Usage;

namespace Purser.Gateway.Pipeline;

/// <summary>
/// The opening and the endings every metered proxy shares (chat in both formats, embeddings, responses, stored
/// responses, count_tokens), so that each proxy's own steps start after it and end through it:
/// <code>
///  1 request id (x-request-id) ─► 2 configuration, read once ─► 3 authenticate ─► 4 CallRecord ─► 5 CallGuard frame
///        │                                                        │ 401, no record (no key to charge)
///        ▼                                                        ▼
///  the proxy's steps ─► FailAsync: refused before the provider (or refused by it): $0, hold released
///                    ├► SendAsync: the upstream call, marked sent once bytes left (then never $0); no answer: ended here
///                    └► FailUpstreamAsync: failed after bytes may have reached the provider: charged the given charge
/// </code>
/// Both endings finish the call once (settle + one usage record), put the budget standing on the response and write
/// the error in the caller's wire format through the one <see cref="ErrorTable"/>.
/// </summary>
internal sealed class CallOpening
{
    private readonly ConfigMonitor _config;
    private readonly CallGuard _guard;
    private readonly UsageRecorder _usage;
    private readonly UpstreamClient _upstream;
    private readonly TimeProvider _time;

    public CallOpening(ConfigMonitor config, CallGuard guard, UsageRecorder usage, UpstreamClient upstream, TimeProvider time)
    {
        _config = config;
        _guard = guard;
        _usage = usage;
        _upstream = upstream;
        _time = time;
    }

    /// <summary>Opens the call named <paramref name="operation"/> and runs <paramref name="steps"/> inside its <see cref="CallGuard"/> frame.</summary>
    public async Task RunAsync<TState>(HttpContext context, string operation, ApiFormat format, Func<OpenedCall, TState, Task> steps, TState state)
    {
        var started = _time.GetTimestamp();
        var requestId = RequestIds.For(context, _time);
        context.Response.Headers["x-request-id"] = requestId;
        var current = _config.Current;

        // Who is calling. An unauthenticated request leaves no usage record: there is no key to charge.
        if (CallerAuthenticator.Authenticate(context.Request, current, _time, out var key) is { } unauthenticated)
        {
            await ErrorWriter.WriteAsync(context, unauthenticated, format).ConfigureAwait(false);
            return;
        }

        var call = new CallRecord(requestId, key!.Id, operation, started);
        var opened = new OpenedCall(context, call, key, current, format);
        await _guard.RunAsync(context, call, format, static args => args.Steps(args.Opened, args.State), (Steps: steps, Opened: opened, State: state)).ConfigureAwait(false);
    }

    /// <summary>
    /// Refuses a request before anything reached a provider, or after the provider refused it (which it does not
    /// bill): nothing is charged, the hold is released.
    /// </summary>
    public async Task FailAsync(OpenedCall opened, GatewayError error)
    {
        var standing = await _usage.FinishAsync(opened.Call, ErrorTable.StatusOf(error), ErrorTable.CodeOf(error), Metering.Nothing).ConfigureAwait(false);
        BudgetHeaders.Apply(opened.Context.Response, standing);
        await ErrorWriter.WriteAsync(opened.Context, error, opened.Format).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the upstream request within <paramref name="deadline"/>. Once any byte left, the call is marked sent (it is
    /// then charged what the provider bills, never $0); when no answer came, the call is ended here (charged what
    /// <see cref="Metering.Unknown"/> says) and null returned.
    /// </summary>
    public async Task<HttpResponseMessage?> SendAsync(OpenedCall opened, HttpRequestMessage request, string provider, string alias, UpstreamDeadline deadline)
    {
        var sent = await _upstream.SendAsync(request, provider, alias, deadline).ConfigureAwait(false);
        if (sent.Sent)
        {
            opened.Call.MarkSent();
        }

        if (sent.Response is null)
        {
            await FailUpstreamAsync(opened, sent.Failure, Metering.Unknown(opened.Call)).ConfigureAwait(false);
        }

        return sent.Response;
    }

    /// <summary>An upstream call that failed after it may have reached the provider: charged <paramref name="charge"/>.</summary>
    public async Task FailUpstreamAsync(OpenedCall opened, UpstreamFailure failure, Metering.Charge charge)
    {
        var (context, call) = (opened.Context, opened.Call);
        var error = UpstreamErrors.For(failure, call.Provider, call.ModelAlias, _config.Current.Config.Server.UpstreamTimeoutSeconds);
        var gone = failure == UpstreamFailure.CallerGone || context.RequestAborted.IsCancellationRequested;
        var standing = await _usage.FinishAsync(call, gone ? 499 : ErrorTable.StatusOf(error), gone ? "client_closed" : ErrorTable.CodeOf(error), charge).ConfigureAwait(false);
        if (gone)
        {
            return;
        }

        if (charge.Source != UsageSource.None)
        {
            context.Response.Headers["x-request-cost"] = charge.Cost.ToString();
        }

        BudgetHeaders.Apply(context.Response, standing);
        await ErrorWriter.WriteAsync(context, error, opened.Format).ConfigureAwait(false);
    }
}
