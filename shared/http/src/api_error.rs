//! The one error type every HTTP function answers with, and the one place mapping it to a status
//! and a JSON body (README.md#api). 5xx bodies are generic; the cause goes to the log. The use
//! cases' refusals arrive as `connect_domain::error::ServiceError`; only the two failures that
//! exist before a use case runs (no valid JWT, a wrong method) are the HTTP layer's own.

use lambda_http::Body;
use lambda_http::http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::response;
use connect_domain::error::ServiceError;
use connect_domain::refresh::RefreshError;

/// Every way a request can fail, as its caller sees it: `to_response` turns it into the status,
/// the `{"error", "message"}` body and the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Missing, malformed or failed app JWT.
    Unauthorized,
    /// The route exists but not with this method; carries the `Allow` header value.
    MethodNotAllowed(&'static str),
    /// A use case refused or failed.
    Service(ServiceError),
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        Self::Service(error)
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        Self::Service(error.into())
    }
}

impl ApiError {
    /// Bad input the HTTP layer itself found (the path, the query string); the message says what
    /// to fix.
    pub fn invalid_request(message: String) -> Self {
        Self::Service(ServiceError::InvalidRequest(message))
    }

    /// The HTTP status the error is answered with (a posting refusal's depends on its code).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Service(error) => service_status(error),
        }
    }

    /// The body's `error`: the stable, machine-readable code clients branch on (a posting
    /// refusal keeps TikTok's own code).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Service(error) => service_code(error),
        }
    }

    /// The body's `message`: one line saying what to do next. A 5xx message never carries the
    /// cause, which is logged instead.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized => "a valid app JWT is required in the Authorization header".into(),
            Self::MethodNotAllowed(allow) => format!("this route only answers {allow}"),
            Self::Service(error) => service_message(error),
        }
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({ "error": self.code(), "message": self.message() });
        match self {
            Self::Service(ServiceError::ScopeMissing(scope)) => body["scope"] = json!(scope),
            Self::Service(
                ServiceError::RateLimited { tiktok_log_id, .. }
                | ServiceError::TikTok { tiktok_log_id }
                | ServiceError::PostingRefused { tiktok_log_id, .. }
                | ServiceError::PublishOutcomeUnknown { tiktok_log_id },
            ) => {
                if let Some(log_id) = tiktok_log_id {
                    body["tiktok_log_id"] = json!(log_id);
                }
            }
            _ => {}
        }
        if let Self::Service(ServiceError::PostingRefused { code, .. }) = self
            && let Some(whose) = limit_of(code)
        {
            body["limit_of"] = json!(whose);
        }
        body
    }

    /// The whole error response: `status`, `body` as `no-store` JSON, and `Retry-After` for
    /// `RateLimited` or `Allow` for `MethodNotAllowed`.
    pub fn to_response(&self) -> Response<Body> {
        let mut response = response::json(self.status(), &self.body());
        let headers = response.headers_mut();
        match self {
            Self::Service(ServiceError::RateLimited {
                retry_after_secs, ..
            }) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

/// A use case's error as the HTTP answer it becomes: status and JSON body. The publish service
/// keeps this answer for a repeated `Idempotency-Key`.
pub fn rendered(error: &ServiceError) -> (StatusCode, serde_json::Value) {
    let error = ApiError::Service(error.clone());
    (error.status(), error.body())
}

fn service_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::InvalidSignature(_) => StatusCode::UNAUTHORIZED,
        ServiceError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        ServiceError::NotConnected => StatusCode::NOT_FOUND,
        ServiceError::ReauthRequired => StatusCode::CONFLICT,
        ServiceError::ScopeMissing(_) => StatusCode::FORBIDDEN,
        ServiceError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::TikTok { .. } => StatusCode::BAD_GATEWAY,
        ServiceError::PostingRefused { code, .. } => posting_refusal(code).0,
        ServiceError::PublishOutcomeUnknown { .. } => StatusCode::BAD_GATEWAY,
        ServiceError::PublishNotFound | ServiceError::ConnectionNotFound => StatusCode::NOT_FOUND,
        ServiceError::ConnectionMismatch => StatusCode::FORBIDDEN,
        ServiceError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::IdempotencyInProgress | ServiceError::NotCancelable => StatusCode::CONFLICT,
        ServiceError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn service_code(error: &ServiceError) -> &'static str {
    match error {
        ServiceError::InvalidSignature(_) => "invalid_signature",
        ServiceError::InvalidRequest(_) => "invalid_request",
        ServiceError::NotConnected => "not_connected",
        ServiceError::ReauthRequired => "reauth_required",
        ServiceError::ScopeMissing(_) => "scope_missing",
        ServiceError::RateLimited { .. } => "rate_limited",
        ServiceError::TikTok { .. } => "tiktok_error",
        ServiceError::PostingRefused { code, .. } => code,
        ServiceError::PublishOutcomeUnknown { .. } => "publish_outcome_unknown",
        ServiceError::PublishNotFound => "publish_not_found",
        ServiceError::ConnectionNotFound => "connection_not_found",
        ServiceError::ConnectionMismatch => "connection_mismatch",
        ServiceError::IdempotencyKeyReused => "idempotency_key_reused",
        ServiceError::IdempotencyInProgress => "idempotency_in_progress",
        ServiceError::NotCancelable => "not_cancelable",
        ServiceError::ServiceUnavailable => "service_unavailable",
        ServiceError::Internal => "internal_error",
    }
}

fn service_message(error: &ServiceError) -> String {
    match error {
        ServiceError::InvalidSignature(why) => (*why).into(),
        ServiceError::InvalidRequest(message) => message.clone(),
        ServiceError::NotConnected => "no connected TikTok account matches this request".into(),
        ServiceError::ReauthRequired => {
            "TikTok no longer accepts this connection; connect the account again".into()
        }
        ServiceError::ScopeMissing(scope) => {
            format!("the user did not grant the `{scope}` scope; reconnect asking for it")
        }
        ServiceError::RateLimited { .. } => {
            "too many requests (TikTok's limits or this service's per-minute quotas); retry after Retry-After seconds".into()
        }
        ServiceError::TikTok { .. } => "TikTok failed to answer; try again shortly".into(),
        ServiceError::PostingRefused { code, .. } => posting_refusal(code).1.into(),
        ServiceError::PublishOutcomeUnknown { .. } => "TikTok did not confirm the post in time; it may exist. Check the creator's profile (or repeat with the same Idempotency-Key) before posting again".into(),
        ServiceError::PublishNotFound => "no post with this publish_id was started by this app user".into(),
        ServiceError::ConnectionNotFound => "no pending connection has this id: it was used, cancelled or is older than 10 minutes; connect again".into(),
        ServiceError::ConnectionMismatch => "this connection was started by another app user; it was cancelled and TikTok's grant revoked".into(),
        ServiceError::IdempotencyKeyReused => {
            "this Idempotency-Key was used for a different request; use a new key".into()
        }
        ServiceError::IdempotencyInProgress => {
            "the first request with this Idempotency-Key is still running; retry shortly".into()
        }
        ServiceError::NotCancelable => {
            "this post already started at TikTok (or failed): only a scheduled post that has not fired can be cancelled".into()
        }
        ServiceError::ServiceUnavailable => {
            "a backing service is unavailable; try again shortly".into()
        }
        ServiceError::Internal => "internal error".into(),
    }
}

/// TikTok's posting refusals (docs/tiktok.md#video-init-and-tiktoks-refusals): the codes the API
/// passes on as they are, with their status and what the person can do about each.
pub const POSTING_REFUSALS: [(&str, StatusCode, &str); 8] = [
    (
        "spam_risk_too_many_posts",
        StatusCode::FORBIDDEN,
        "this creator reached TikTok's daily limit of API posts; try again tomorrow",
    ),
    (
        "spam_risk_user_banned_from_posting",
        StatusCode::FORBIDDEN,
        "TikTok does not let this creator post at the moment",
    ),
    (
        "spam_risk_too_many_pending_share",
        StatusCode::FORBIDDEN,
        "this creator has 5 uploads waiting in the TikTok inbox (TikTok's 24-hour limit); they must post or delete some first",
    ),
    (
        "reached_active_user_cap",
        StatusCode::FORBIDDEN,
        "this TikTok app reached its daily quota of creators posting through the API; try again tomorrow",
    ),
    (
        "unaudited_client_can_only_post_to_private_accounts",
        StatusCode::FORBIDDEN,
        "this TikTok app has not passed TikTok's audit: it can only post to private accounts, with privacy SELF_ONLY",
    ),
    (
        "url_ownership_unverified",
        StatusCode::FORBIDDEN,
        "TikTok only pulls videos from a domain or URL prefix verified in the TikTok developer portal",
    ),
    (
        "privacy_level_option_mismatch",
        StatusCode::FORBIDDEN,
        "post_info.privacy_level is not one of the creator's current options; read creator-info again",
    ),
    (
        "invalid_param",
        StatusCode::BAD_REQUEST,
        "TikTok refused a parameter of this post; check the request against creator-info",
    ),
];

/// Whose limit a posting refusal is: the creator's own at TikTok (`account`) or the TikTok app's
/// (`app`: its audit, its quota, its verified URLs), so nobody blames the wrong party.
pub fn limit_of(code: &str) -> Option<&'static str> {
    match code {
        "spam_risk_too_many_posts"
        | "spam_risk_user_banned_from_posting"
        | "spam_risk_too_many_pending_share" => Some("account"),
        "reached_active_user_cap"
        | "unaudited_client_can_only_post_to_private_accounts"
        | "url_ownership_unverified" => Some("app"),
        _ => None,
    }
}

/// Status and message of a posting refusal code (a code not in the list never gets here).
fn posting_refusal(code: &str) -> (StatusCode, &'static str) {
    POSTING_REFUSALS.iter().find(|(c, _, _)| *c == code).map_or(
        (StatusCode::BAD_GATEWAY, "TikTok refused this post"),
        |(_, status, message)| (*status, *message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use connect_domain::error::DEFAULT_RETRY_AFTER_SECS;
    use connect_domain::tiktok::TikTokError;

    fn body(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("json"),
            _ => panic!("text body expected"),
        }
    }

    #[test]
    fn rate_limits_carry_retry_after_and_the_log_id() {
        let error = ApiError::from(ServiceError::from_tiktok(&TikTokError::RateLimited {
            retry_after_secs: None,
            log_id: Some("L9".into()),
        }));
        let response = error.to_response();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(DEFAULT_RETRY_AFTER_SECS))
        );
        assert_eq!(body(&response)["tiktok_log_id"], "L9");
    }

    #[test]
    fn posting_refusals_say_whose_limit_it_is() {
        let refusal = |code| {
            let error = ServiceError::posting_refusal(code, None).expect("a posting refusal");
            body(&ApiError::from(error).to_response())
        };
        assert_eq!(refusal("spam_risk_too_many_posts")["limit_of"], "account");
        assert_eq!(refusal("reached_active_user_cap")["limit_of"], "app");
        assert_eq!(
            refusal("unaudited_client_can_only_post_to_private_accounts")["limit_of"],
            "app"
        );
        assert!(
            refusal("privacy_level_option_mismatch")
                .get("limit_of")
                .is_none()
        );
    }

    #[test]
    fn scope_missing_names_the_scope() {
        let response = ApiError::from(ServiceError::ScopeMissing("video.list")).to_response();
        assert_eq!(response.status(), 403);
        assert_eq!(body(&response)["scope"], "video.list");
        assert_eq!(body(&response)["error"], "scope_missing");
    }
}
