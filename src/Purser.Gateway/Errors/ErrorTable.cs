namespace Purser.Gateway.Errors;

/// <summary>
/// The single place where an outcome becomes an HTTP status and an error type. OpenAI and Anthropic SDKs decide
/// whether to retry from the status alone, so the statuses follow their conventions: 429 and 5xx are retried,
/// 4xx are not.
/// </summary>
internal static class ErrorTable
{
    public readonly record struct Entry(int Status, string OpenAiType, string AnthropicType, string Code);

    public static Entry Describe(GatewayErrorCode code) => code switch
    {
        GatewayErrorCode.MissingApiKey => new(401, "invalid_request_error", "authentication_error", "missing_api_key"),
        GatewayErrorCode.InvalidApiKey => new(401, "invalid_request_error", "authentication_error", "invalid_api_key"),
        GatewayErrorCode.ExpiredApiKey => new(401, "invalid_request_error", "authentication_error", "expired_api_key"),
        GatewayErrorCode.ModelNotAllowed => new(403, "permission_error", "permission_error", "model_not_allowed"),
        GatewayErrorCode.ModelNotFound => new(404, "invalid_request_error", "not_found_error", "model_not_found"),
        GatewayErrorCode.ModelNotPriced => new(400, "invalid_request_error", "invalid_request_error", "model_not_priced"),
        GatewayErrorCode.WrongModelKind => new(400, "invalid_request_error", "invalid_request_error", "wrong_model_kind"),
        GatewayErrorCode.InvalidJson => new(400, "invalid_request_error", "invalid_request_error", "invalid_json"),
        GatewayErrorCode.InvalidRequest => new(400, "invalid_request_error", "invalid_request_error", "invalid_request"),
        GatewayErrorCode.BodyTooLarge => new(413, "invalid_request_error", "request_too_large", "request_too_large"),
        GatewayErrorCode.UnsupportedMediaType => new(415, "invalid_request_error", "invalid_request_error", "unsupported_media_type"),
        GatewayErrorCode.UpstreamUnreachable => new(502, "server_error", "api_error", "upstream_unreachable"),
        GatewayErrorCode.UpstreamTimeout => new(504, "server_error", "api_error", "upstream_timeout"),
        GatewayErrorCode.UpstreamInvalidResponse => new(502, "server_error", "api_error", "upstream_invalid_response"),
        GatewayErrorCode.UpstreamAuthFailed => new(502, "server_error", "api_error", "upstream_auth_failed"),
        GatewayErrorCode.UpstreamRateLimited => new(429, "rate_limit_error", "rate_limit_error", "upstream_rate_limited"),
        GatewayErrorCode.UpstreamOverloaded => new(529, "server_error", "overloaded_error", "upstream_overloaded"),
        GatewayErrorCode.UpstreamServerError => new(502, "server_error", "api_error", "upstream_error"),
        GatewayErrorCode.BudgetExceeded => new(402, "budget_exceeded", "budget_exceeded", "budget_exceeded"),
        GatewayErrorCode.UnknownScope => new(400, "invalid_request_error", "invalid_request_error", "unknown_scope"),
        GatewayErrorCode.InvalidBudgetHeader => new(400, "invalid_request_error", "invalid_request_error", "invalid_budget_header"),
        GatewayErrorCode.LedgerUnavailable => new(503, "server_error", "api_error", "ledger_unavailable"),
        GatewayErrorCode.EnsembleCapExceeded => new(402, "ensemble_cap_exceeded", "ensemble_cap_exceeded", "ensemble_cap_exceeded"),
        GatewayErrorCode.EnsemblePanelFailed => new(502, "server_error", "api_error", "ensemble_panel_failed"),
        GatewayErrorCode.RouteNotFound => new(404, "invalid_request_error", "not_found_error", "unknown_route"),
        GatewayErrorCode.MethodNotAllowed => new(405, "invalid_request_error", "invalid_request_error", "method_not_allowed"),
        GatewayErrorCode.InternalError => new(500, "server_error", "api_error", "internal_error"),
        GatewayErrorCode.RequestTimeout => new(408, "invalid_request_error", "invalid_request_error", "request_timeout"),
        GatewayErrorCode.InvalidHeader => new(400, "invalid_request_error", "invalid_request_error", "invalid_header"),
        GatewayErrorCode.TaskCeilingConflict => new(409, "invalid_request_error", "invalid_request_error", "task_ceiling_conflict"),
        GatewayErrorCode.OpenTaskLimitReached => new(403, "permission_error", "permission_error", "open_task_limit_reached"),
        GatewayErrorCode.UnboundedRequest => new(402, "unbounded_request", "unbounded_request", "unbounded_request"),
        GatewayErrorCode.RequestsPerMinuteExceeded => new(429, "rate_limit_exceeded", "rate_limit_error", "requests_per_minute_exceeded"),
        GatewayErrorCode.TokensPerMinuteExceeded => new(429, "rate_limit_exceeded", "rate_limit_error", "tokens_per_minute_exceeded"),
        GatewayErrorCode.ConcurrencyExceeded => new(429, "rate_limit_exceeded", "rate_limit_error", "concurrency_exceeded"),
        GatewayErrorCode.EndUserLimitReached => new(403, "permission_error", "permission_error", "end_user_limit_reached"),
        GatewayErrorCode.ResponseNotFound => new(404, "invalid_request_error", "not_found_error", "response_not_found"),
        GatewayErrorCode.ReservationDoesNotFit => new(402, "reservation_does_not_fit", "reservation_does_not_fit", "reservation_does_not_fit"),
        GatewayErrorCode.ReservationExhausted => new(402, "reservation_exhausted", "reservation_exhausted", "reservation_exhausted"),
        GatewayErrorCode.ReservationNotFound => new(404, "invalid_request_error", "not_found_error", "reservation_not_found"),
        GatewayErrorCode.InvalidReservation => new(400, "invalid_request_error", "invalid_request_error", "invalid_reservation"),
        GatewayErrorCode.AdminNotFound => new(404, "invalid_request_error", "not_found_error", "not_found"),
        GatewayErrorCode.AdminConflict => new(409, "invalid_request_error", "invalid_request_error", "conflict"),
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, "Every error code needs a row."),
    };

    public static int StatusOf(in GatewayError error) => error.StatusOverride ?? Describe(error.Code).Status;

    /// <summary>The machine-readable code: a budget refusal names which cap it hit (daily_cap_exceeded, …).</summary>
    public static string CodeOf(in GatewayError error) => error.Budget?.Code ?? Describe(error.Code).Code;
}
