using Purser.Gateway.Wire;

namespace Purser.Gateway.Telemetry;

/// <summary>
/// With JSON logs on, gives every request its Purser request id before anything logs, and opens a log scope with it,
/// so each line a request causes carries the same <c>request_id</c> as its <c>x-request-id</c> header and usage record.
/// Only the id goes in the scope: never a header, a body or a key.
/// </summary>
internal sealed class RequestLogScope
{
    private readonly RequestDelegate _next;
    private readonly ILogger<RequestLogScope> _logger;
    private readonly TimeProvider _time;

    public RequestLogScope(RequestDelegate next, ILogger<RequestLogScope> logger, TimeProvider time)
    {
        _next = next;
        _logger = logger;
        _time = time;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.New(_time);
        context.Items[RequestIds.ItemKey] = requestId;
        using (_logger.BeginScope(new RequestScope(requestId)))
        {
            await _next(context).ConfigureAwait(false);
        }
    }

    /// <summary>A one-entry scope, read by the JSON formatter as <c>{"request_id": "..."}</c>.</summary>
    private sealed class RequestScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? new("request_id", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return this[0];
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => "request_id:" + requestId;
    }
}
