using System.Globalization;
using Purser.Gateway.Errors;

namespace Purser.Gateway.Upstream;

/// <summary>The caller's error for each <see cref="UpstreamFailure"/>: one table, used by every caller of a provider.</summary>
internal static class UpstreamErrors
{
    public static GatewayError For(UpstreamFailure failure, string provider, string alias, int timeoutSeconds) => failure switch
    {
        UpstreamFailure.Unreachable => new(GatewayErrorCode.UpstreamUnreachable, $"The provider '{provider}' could not be reached."),
        UpstreamFailure.TimedOut => new(GatewayErrorCode.UpstreamTimeout, string.Create(CultureInfo.InvariantCulture, $"The provider did not answer within {timeoutSeconds} s.")),
        UpstreamFailure.BrokenAfterSend => new(GatewayErrorCode.UpstreamInvalidResponse, $"The provider '{provider}' broke off its response."),
        UpstreamFailure.InvalidResponse => new(GatewayErrorCode.UpstreamInvalidResponse, $"The provider '{provider}' returned a response the gateway could not read."),
        UpstreamFailure.AuthRejected => new(GatewayErrorCode.UpstreamAuthFailed, $"The provider '{provider}' refused the gateway's credentials."),
        UpstreamFailure.CallerRequestInvalid => new(GatewayErrorCode.InvalidHeader, $"The request for '{alias}' could not be sent as it is (a header value the HTTP stack refuses)."),
        UpstreamFailure.CallerGone => new(GatewayErrorCode.InvalidRequest, "The caller closed the connection."),
        _ => new(GatewayErrorCode.InternalError, "The upstream call failed."),
    };

    /// <summary>Whether a route may try its next target after this failure (and cool this one down): only the provider's fault.</summary>
    public static bool ProviderCaused(UpstreamFailure failure) =>
        failure is UpstreamFailure.Unreachable or UpstreamFailure.TimedOut or UpstreamFailure.BrokenAfterSend or UpstreamFailure.InvalidResponse;
}
