namespace Purser.Gateway.Errors;

/// <summary>Every way the gateway can refuse or fail a request. <see cref="ErrorTable"/> maps each to its HTTP face.</summary>
internal enum GatewayErrorCode
{
    MissingApiKey,
    InvalidApiKey,
    ExpiredApiKey,
    ModelNotAllowed,
    ModelNotFound,
    ModelNotPriced,
    WrongModelKind,
    InvalidJson,
    InvalidRequest,
    BodyTooLarge,
    UnsupportedMediaType,
    UpstreamUnreachable,
    UpstreamTimeout,
    UpstreamInvalidResponse,
    UpstreamAuthFailed,
    UpstreamRateLimited,
    UpstreamOverloaded,
    UpstreamServerError,
    BudgetExceeded,
    UnknownScope,
    InvalidBudgetHeader,
    LedgerUnavailable,
    EnsembleCapExceeded,
    EnsemblePanelFailed,
    RouteNotFound,
    MethodNotAllowed,
    InternalError,
    RequestTimeout,
    InvalidHeader,
    TaskCeilingConflict,
    OpenTaskLimitReached,
    UnboundedRequest,

    /// <summary>A Responses API response id this key did not create through the gateway (or that was deleted).</summary>
    ResponseNotFound,
}
