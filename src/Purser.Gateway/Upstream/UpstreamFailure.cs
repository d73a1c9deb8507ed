namespace Purser.Gateway.Upstream;

/// <summary>
/// Every way an upstream call can fail, classified once at the boundary (as YARP's <c>ForwarderError</c>): whether
/// the request reached the provider decides what it is charged, and whether the provider or the caller caused it
/// decides whether a route may fail over and put the target into cooldown.
/// </summary>
internal enum UpstreamFailure
{
    /// <summary>No failure.</summary>
    None,

    /// <summary>The connection could not be made: no request byte reached the provider, so nothing is charged.</summary>
    Unreachable,

    /// <summary>The gateway's upstream timeout passed after the request was sent.</summary>
    TimedOut,

    /// <summary>The caller went away; the provider is not to blame (never a cooldown).</summary>
    CallerGone,

    /// <summary>The connection broke after the request was sent (reset, response ended early).</summary>
    BrokenAfterSend,

    /// <summary>The provider answered with something the gateway cannot read (a body that is not what was asked for).</summary>
    InvalidResponse,

    /// <summary>The provider refused the gateway's own credentials (401/403): an operator problem, not the caller's.</summary>
    AuthRejected,

    /// <summary>The caller's request could not be sent as it is (e.g. a header the HTTP stack refuses): the caller's fault.</summary>
    CallerRequestInvalid,
}
