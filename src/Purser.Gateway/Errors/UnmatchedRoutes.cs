using Purser.Gateway.Wire;

namespace Purser.Gateway.Errors;

/// <summary>
/// Answers a request no endpoint took — an unknown path (404) or a known path with another method (405, with its
/// <c>Allow</c> header) — in the OpenAI error shape, or Anthropic's under <c>/v1/messages</c>, instead of routing's
/// empty body, so an SDK raises its own not-found error with a message saying what was wrong.
/// </summary>
internal sealed class UnmatchedRoutes
{
    private readonly RequestDelegate _next;

    public UnmatchedRoutes(RequestDelegate next) => _next = next;

    public Task InvokeAsync(HttpContext context)
    {
        var pending = _next(context);

        // The served request (every proxied one) finishes here with one status check; no extra await.
        if (pending.IsCompletedSuccessfully)
        {
            return Unanswered(context) ? WriteAsync(context) : Task.CompletedTask;
        }

        return AfterAsync(pending, context);
    }

    private static async Task AfterAsync(Task pending, HttpContext context)
    {
        await pending.ConfigureAwait(false);
        if (Unanswered(context))
        {
            await WriteAsync(context).ConfigureAwait(false);
        }
    }

    // Routing's own answers set the status and write nothing; an endpoint's 404 (an unknown key id…) writes a body.
    private static bool Unanswered(HttpContext context)
    {
        var response = context.Response;
        return (response.StatusCode == StatusCodes.Status404NotFound || response.StatusCode == StatusCodes.Status405MethodNotAllowed)
            && !response.HasStarted && response.ContentType is null && response.ContentLength is null or 0;
    }

    private static Task WriteAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var format = path.StartsWith("/v1/messages", StringComparison.Ordinal) ? ApiFormat.Anthropic : ApiFormat.OpenAI;
        var error = context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed
            ? new GatewayError(GatewayErrorCode.MethodNotAllowed, $"{request.Method} is not allowed on {path}; allowed: {context.Response.Headers.Allow}.")
            : new GatewayError(GatewayErrorCode.RouteNotFound, $"Unknown route: {request.Method} {path}. The gateway serves /v1/chat/completions, /v1/messages, /v1/messages/count_tokens, /v1/embeddings, /v1/models, /v1/models/{{id}} and /v1/budget.");
        return ErrorWriter.WriteAsync(context, error, format);
    }
}
