using System.Diagnostics;

namespace Purser.Gateway.Telemetry;

/// <summary>
/// The server span of every request, continuing the caller's W3C <c>traceparent</c> (and <c>tracestate</c>). Only in
/// the pipeline when traces are exported: the hosting Activity stays off (docs/design.md, "Hot path"), so a gateway
/// without a tracer pays nothing for this.
/// </summary>
internal sealed class RequestTracing
{
    private readonly RequestDelegate _next;

    public RequestTracing(RequestDelegate next) => _next = next;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var headers = request.Headers;
        ActivityContext.TryParse(headers.TraceParent.ToString(), headers.TraceState.ToString(), isRemote: true, out var parent);
        using var activity = GatewayTracing.Source.StartActivity(request.Method, ActivityKind.Server, parent);
        if (activity is not { IsAllDataRequested: true })
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.path", request.Path.Value);
        await _next(context).ConfigureAwait(false);
        // Named by the route's template (never the raw path, which may carry ids), as the HTTP conventions ask.
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route })
        {
            activity.DisplayName = request.Method + " " + route;
            activity.SetTag("http.route", route);
        }

        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }

        if (RequestIdOf(context) is { } requestId)
        {
            activity.SetTag("purser.request_id", requestId);
        }
    }

    private static string? RequestIdOf(HttpContext context) =>
        context.Response.Headers.TryGetValue("x-request-id", out var id) ? id.ToString() : null;
}
