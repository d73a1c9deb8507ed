using Purser.Gateway.Logging;

namespace Purser.Gateway.Upstream;

/// <summary>
/// The one place the gateway calls a provider: every chat, embeddings, route and ensemble call is sent here, with one
/// timeout from <see cref="TimeProvider"/> and one classification of what went wrong (<see cref="UpstreamFailure"/>).
/// </summary>
/// <remarks>
/// Two tokens, on purpose: <c>callerGone</c> aborts the call when the caller hangs up (streams: the provider stops
/// generating, and what was relayed is charged), while a call that must learn its usage after the caller left passes
/// <see cref="CancellationToken.None"/> and is bounded by the timeout alone.
/// </remarks>
internal sealed class UpstreamClient
{
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger<UpstreamClient> _logger;

    public UpstreamClient(HttpClient http, TimeProvider time, ILogger<UpstreamClient> logger)
    {
        _http = http;
        _time = time;
        _logger = logger;
    }

    /// <summary>The deadline of one call (its whole life: headers and body), from the gateway's clock, also ended by <paramref name="callerGone"/>.</summary>
    public UpstreamDeadline Deadline(TimeSpan timeout, CancellationToken callerGone) => new(timeout, _time, callerGone);

    /// <summary>
    /// Sends <paramref name="request"/> (whose content should be a <see cref="MeteredContent"/>, so a failure can tell
    /// whether the provider got the request) and waits for the response headers, within <paramref name="deadline"/>.
    /// </summary>
    public async Task<UpstreamResult> SendAsync(HttpRequestMessage request, string provider, string alias, UpstreamDeadline deadline)
    {
        var content = request.Content as MeteredContent;
        try
        {
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            return new UpstreamResult(response, UpstreamFailure.None, true, "");
        }
        catch (OperationCanceledException) when (deadline.CallerGone)
        {
            return Failed(provider, alias, UpstreamFailure.CallerGone, content, "caller_gone");
        }
        catch (OperationCanceledException)
        {
            return Failed(provider, alias, UpstreamFailure.TimedOut, content, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return Failed(provider, alias, Classify(ex, content), content, ex.HttpRequestError.ToString());
        }
        catch (InvalidOperationException ex) when (ex.Source is "System.Net.Http")
        {
            // The HTTP stack refused to write the request (e.g. a header value it cannot encode): the caller's input.
            return Failed(provider, alias, UpstreamFailure.CallerRequestInvalid, content, "request_refused");
        }
    }

    /// <summary>What a failure while reading a response body (after the headers) means.</summary>
    public static UpstreamFailure ClassifyRead(Exception ex, UpstreamDeadline deadline) => ex switch
    {
        OperationCanceledException when deadline.CallerGone => UpstreamFailure.CallerGone,
        OperationCanceledException => UpstreamFailure.TimedOut,
        InvalidDataException => UpstreamFailure.InvalidResponse,
        _ => UpstreamFailure.BrokenAfterSend,
    };

    /// <summary>Whether an exception is one a body read can throw for an upstream reason (not a bug).</summary>
    public static bool IsReadFailure(Exception ex) =>
        ex is IOException or HttpRequestException or OperationCanceledException or InvalidDataException;

    private UpstreamResult Failed(string provider, string alias, UpstreamFailure failure, MeteredContent? content, string detail)
    {
        Log.UpstreamFailed(_logger, provider, alias, failure + ":" + detail);
        return new UpstreamResult(null, failure, content?.Sent ?? true, detail);
    }

    private static UpstreamFailure Classify(HttpRequestException ex, MeteredContent? content)
    {
        if (content is { Sent: false })
        {
            return ex.HttpRequestError is HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded
                ? UpstreamFailure.Unreachable
                : ex.InnerException is InvalidOperationException ? UpstreamFailure.CallerRequestInvalid : UpstreamFailure.Unreachable;
        }

        return ex.HttpRequestError == HttpRequestError.InvalidResponse ? UpstreamFailure.InvalidResponse : UpstreamFailure.BrokenAfterSend;
    }
}
