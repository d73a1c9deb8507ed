using Purser.Gateway.Budgets;
using Purser.Gateway.Errors;
using Purser.Gateway.Logging;
using Purser.Gateway.Wire;

namespace Purser.Gateway.Pipeline;

/// <summary>
/// The frame every metered request runs in, so that a hold is settled and one usage record written however the
/// request ends — by its steps, by the caller hanging up mid-write, or by an exception nobody expected (which still
/// answers in the caller's error shape with the request id, and is logged once with its stack). The expiry sweep is
/// then only for crashed processes.
/// </summary>
internal sealed class CallGuard
{
    private readonly UsageRecorder _usage;
    private readonly ILogger<CallGuard> _logger;
    private long _entered;
    private int _inFlight;

    public CallGuard(UsageRecorder usage, ILogger<CallGuard> logger)
    {
        _usage = usage;
        _logger = logger;
    }

    /// <summary>Metered requests that entered the frame since start-up (each leaves exactly one usage record).</summary>
    public long Entered => Interlocked.Read(ref _entered);

    /// <summary>Metered requests not yet finished: a caller who hung up can leave its request running for a while.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public async Task RunAsync<TState>(HttpContext context, CallRecord call, ApiFormat format, Func<TState, Task> steps, TState state)
    {
        Interlocked.Increment(ref _entered);
        Interlocked.Increment(ref _inFlight);
        try
        {
            await steps(state).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The caller hung up while the gateway wrote to it: not a fault; the call is charged by the usual rules.
            await _usage.FinishAsync(call, 499, "client_closed", Metering.Unknown(call)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.RequestFailedUnexpectedly(_logger, call.RequestId, ex);
            var standing = await _usage.FinishAsync(call, 500, "internal_error", Metering.Unknown(call)).ConfigureAwait(false);
            if (context.Response.HasStarted)
            {
                // Part of an answer is already with the caller: cutting the connection is the only honest ending left.
                context.Abort();
                return;
            }

            context.Response.Headers.Clear();
            context.Response.Headers["x-request-id"] = call.RequestId;
            BudgetHeaders.Apply(context.Response, standing);
            await ErrorWriter.WriteAsync(context, new GatewayError(GatewayErrorCode.InternalError,
                $"The gateway failed while serving request {call.RequestId}; it was recorded and logged."), format).ConfigureAwait(false);
        }
        finally
        {
            if (!call.Finished)
            {
                // A path that returned without finishing is a bug; the call is still settled and recorded.
                await _usage.FinishAsync(call, context.Response.HasStarted ? context.Response.StatusCode : 500, "internal_error", Metering.Unknown(call)).ConfigureAwait(false);
            }

            // The request's concurrency slots are free once its frame ends: a stream's when it ended, a caller's who
            // hung up, or after an exception nobody expected.
            call.RateTicket?.Release();
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
