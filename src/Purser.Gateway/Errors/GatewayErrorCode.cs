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
    RequestsPerMinuteExceeded,
    TokensPerMinuteExceeded,
    ConcurrencyExceeded,
    EndUserLimitReached,

    /// <summary>A Responses API response id this key did not create through the gateway (or that was deleted).</summary>
    ResponseNotFound,
    ReservationDoesNotFit,
    ReservationExhausted,
    ReservationNotFound,
    InvalidReservation,

    /// <summary>An admin resource (key, budget, policy, alias, limit, webhook) that does not exist or was not created through the API.</summary>
    AdminNotFound,

    /// <summary>An admin change that clashes with what exists: an id of the file, a taken id, an alias still in use.</summary>
    AdminConflict,
}
