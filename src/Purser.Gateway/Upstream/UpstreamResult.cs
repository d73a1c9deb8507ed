namespace Purser.Gateway.Upstream;

/// <summary>
/// The outcome of sending one request upstream: the provider's response (any status; its body still to be read), or
/// the classified failure, with whether the request's bytes had started to reach the provider.
/// </summary>
internal readonly record struct UpstreamResult(HttpResponseMessage? Response, UpstreamFailure Failure, bool Sent, string Detail)
{
    public bool Answered => Response is not null;
}
