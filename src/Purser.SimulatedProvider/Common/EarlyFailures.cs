using Microsoft.AspNetCore.Http;

namespace Purser.SimulatedProvider.Common;

/// <summary>
/// The model-suffix options that end a generating call before any answer, the same on every such endpoint: the
/// simulated latency, then <c>fail=&lt;status&gt;</c> (the provider's error for that status), <c>fail=timeout</c> (no
/// answer until the caller gives up, then the connection cut) and <c>fail=malformed_json</c> (a 200 whose body is
/// not JSON).
/// </summary>
internal static class EarlyFailures
{
    /// <summary>True when one of them answered the call (nothing more to write).</summary>
    public static async Task<bool> PlayAsync(HttpContext context, SimContext sim, SimOptions options, byte[] malformedJsonBody, Func<HttpContext, int, Task> simulatedFailure)
    {
        CancellationToken ct = context.RequestAborted;
        await sim.DelayAsync(options.LatencyMs, ct).ConfigureAwait(false);
        switch (options.Fail)
        {
            case FailMode.Status:
                await simulatedFailure(context, options.FailStatus).ConfigureAwait(false);
                return true;
            case FailMode.Timeout:
                await sim.HangAsync(ct).ConfigureAwait(false);
                context.Abort();
                return true;
            case FailMode.MalformedJson:
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = ResponseWriter.Json;
                context.Response.ContentLength = malformedJsonBody.Length;
                await context.Response.BodyWriter.WriteAsync(malformedJsonBody, ct).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }
}
