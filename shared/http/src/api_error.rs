//! The one error type every HTTP function answers with, and the one place mapping it to a status
//! and a JSON body (README.md#api). 5xx bodies are generic; the cause goes to the log.

use lambda_http::Body;
use lambda_http::http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::response;
use connect_domain::cipher::CipherError;
use connect_domain::refresh::RefreshError;
use connect_domain::tiktok::TikTokError;

/// `Retry-After` when TikTok throttles without saying for how long: its limits are per minute.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// Every way a request can fail, as its caller sees it: handlers and services return it and
/// `to_response` turns it into the status, the `{"error", "message"}` body and the headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Missing, malformed or failed app JWT.
    Unauthorized,
    /// A webhook whose `TikTok-Signature` is missing, malformed, wrong or too old.
    InvalidSignature(&'static str),
    /// Bad input; the message says what to fix (never echoes a secret).
    InvalidRequest(String),
    /// The route exists but not with this method; carries the `Allow` header value.
    MethodNotAllowed(&'static str),
    /// The app user has no such TikTok account (or none at all).
    NotConnected,
    /// The grant is gone (refresh refused, refresh token expired, or revoked by the user): the
    /// person must connect again.
    ReauthRequired,
    /// The feature needs a scope the user did not grant; TikTok was not called.
    ScopeMissing(&'static str),
    /// A rate limit was reached (TikTok's, or this service's own per-minute windows for connect
    /// starts and posting calls); try again after this many seconds.
    RateLimited {
        /// Seconds to wait, sent as `Retry-After`: TikTok's own value clamped to 1..=3600 (60
        /// when it gave none), or what is left of the minute when one of this service's own
        /// per-minute quotas refused the call.
        retry_after_secs: u64,
        /// TikTok's request id, sent back as `tiktok_log_id`; `None` when TikTok gave none or the
        /// limit is this service's own.
        tiktok_log_id: Option<String>,
    },
    /// TikTok failed or answered something unusable, after bounded retries.
    TikTok {
        /// TikTok's request id, sent back as `tiktok_log_id` for TikTok's support, when it gave one.
        tiktok_log_id: Option<String>,
    },
    /// TikTok refused to post for a reason the person can act on (its own code,
    /// docs/tiktok.md#video-init-and-tiktoks-refusals).
    PostingRefused {
        /// TikTok's code, one of `POSTING_REFUSALS` (TikTok's `invalid_params` is kept as `invalid_param`):
        /// it is the body's `error` and picks the status and message.
        code: &'static str,
        /// TikTok's request id, sent back as `tiktok_log_id`, when it gave one.
        tiktok_log_id: Option<String>,
    },
    /// TikTok may or may not have created the post (the init's answer was lost or unreadable, or an earlier request with the same
    /// `Idempotency-Key` never finished): do not post
    /// again before checking the creator's profile.
    PublishOutcomeUnknown {
        /// TikTok's request id for the init call, sent back as `tiktok_log_id`, when it gave one;
        /// `None` too when an earlier request with the same `Idempotency-Key` never finished.
        tiktok_log_id: Option<String>,
    },
    /// No post with this id was started by this app user.
    PublishNotFound,
    /// No unexpired, unused pending connection has this id.
    ConnectionNotFound,
    /// The pending connection was started by another app user: it was cancelled and its grant
    /// revoked (the account-linking CSRF of RFC 9700 §4.7).
    ConnectionMismatch,
    /// This `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` has not finished yet.
    IdempotencyInProgress,
    /// A dependency (DynamoDB, KMS, Secrets Manager) failed; retrying may help.
    ServiceUnavailable,
    /// A bug or an impossible state; details are logged, not returned.
    Internal,
}

impl ApiError {
    /// The HTTP status the error is answered with (a posting refusal's depends on its code).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::InvalidSignature(_) => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotConnected => StatusCode::NOT_FOUND,
            Self::ReauthRequired => StatusCode::CONFLICT,
            Self::ScopeMissing(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TikTok { .. } => StatusCode::BAD_GATEWAY,
            Self::PostingRefused { code, .. } => posting_refusal(code).0,
            Self::PublishOutcomeUnknown { .. } => StatusCode::BAD_GATEWAY,
            Self::PublishNotFound | Self::ConnectionNotFound => StatusCode::NOT_FOUND,
            Self::ConnectionMismatch => StatusCode::FORBIDDEN,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyInProgress => StatusCode::CONFLICT,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body's `error`: the stable, machine-readable code clients branch on (a posting
    /// refusal keeps TikTok's own code).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::InvalidRequest(_) => "invalid_request",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::NotConnected => "not_connected",
            Self::ReauthRequired => "reauth_required",
            Self::ScopeMissing(_) => "scope_missing",
            Self::RateLimited { .. } => "rate_limited",
            Self::TikTok { .. } => "tiktok_error",
            Self::PostingRefused { code, .. } => code,
            Self::PublishOutcomeUnknown { .. } => "publish_outcome_unknown",
            Self::PublishNotFound => "publish_not_found",
            Self::ConnectionNotFound => "connection_not_found",
            Self::ConnectionMismatch => "connection_mismatch",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_in_progress",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Internal => "internal_error",
        }
    }

    /// The body's `message`: one line saying what to do next. A 5xx message never carries the
    /// cause, which is logged instead.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthorized => "a valid app JWT is required in the Authorization header".into(),
            Self::InvalidSignature(why) => (*why).into(),
            Self::InvalidRequest(message) => message.clone(),
            Self::MethodNotAllowed(allow) => format!("this route only answers {allow}"),
            Self::NotConnected => "no connected TikTok account matches this request".into(),
            Self::ReauthRequired => {
                "TikTok no longer accepts this connection; connect the account again".into()
            }
            Self::ScopeMissing(scope) => {
                format!("the user did not grant the `{scope}` scope; reconnect asking for it")
            }
            Self::RateLimited { .. } => {
                "too many requests (TikTok's limits or this service's per-minute quotas); retry after Retry-After seconds".into()
            }
            Self::TikTok { .. } => "TikTok failed to answer; try again shortly".into(),
            Self::PostingRefused { code, .. } => posting_refusal(code).1.into(),
            Self::PublishOutcomeUnknown { .. } => "TikTok did not confirm the post in time; it may exist. Check the creator's profile (or repeat with the same Idempotency-Key) before posting again".into(),
            Self::PublishNotFound => "no post with this publish_id was started by this app user".into(),
            Self::ConnectionNotFound => "no pending connection has this id: it was used, cancelled or is older than 10 minutes; connect again".into(),
            Self::ConnectionMismatch => "this connection was started by another app user; it was cancelled and TikTok's grant revoked".into(),
            Self::IdempotencyKeyReused => {
                "this Idempotency-Key was used for a different request; use a new key".into()
            }
            Self::IdempotencyInProgress => {
                "the first request with this Idempotency-Key is still running; retry shortly".into()
            }
            Self::ServiceUnavailable => {
                "a backing service is unavailable; try again shortly".into()
            }
            Self::Internal => "internal error".into(),
        }
    }

    /// The API error for a TikTok failure that retries did not cure.
    pub fn from_tiktok(error: &TikTokError) -> Self {
        match error {
            TikTokError::RateLimited {
                retry_after_secs,
                log_id,
            } => Self::RateLimited {
                retry_after_secs: retry_after_secs
                    .unwrap_or(DEFAULT_RETRY_AFTER_SECS)
                    .clamp(1, 3600),
                tiktok_log_id: log_id.clone(),
            },
            other => Self::TikTok {
                tiktok_log_id: other.log_id().map(str::to_owned),
            },
        }
    }

    /// The API error for a failed call to a TikTok feature that needs `scope`: TikTok's scope
    /// errors become `scope_missing`, the rest maps as for any refresh or TikTok failure.
    pub fn from_call(error: RefreshError, scope: &'static str) -> Self {
        match error {
            RefreshError::TikTok(TikTokError::Api { code, .. })
                if code == "scope_not_authorized" || code == "scope_permission_missed" =>
            {
                tracing::warn!(scope, "TikTok says a scope is missing");
                Self::ScopeMissing(scope)
            }
            other => other.into(),
        }
    }

    /// The JSON body of the error response.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({ "error": self.code(), "message": self.message() });
        match self {
            Self::ScopeMissing(scope) => body["scope"] = json!(scope),
            Self::RateLimited { tiktok_log_id, .. }
            | Self::TikTok { tiktok_log_id }
            | Self::PostingRefused { tiktok_log_id, .. }
            | Self::PublishOutcomeUnknown { tiktok_log_id } => {
                if let Some(log_id) = tiktok_log_id {
                    body["tiktok_log_id"] = json!(log_id);
                }
            }
            _ => {}
        }
        body
    }

    /// The whole error response: `status`, `body` as `no-store` JSON, and `Retry-After` for
    /// `RateLimited` or `Allow` for `MethodNotAllowed`.
    pub fn to_response(&self) -> Response<Body> {
        let mut response = response::json(self.status(), &self.body());
        let headers = response.headers_mut();
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            } => {
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

/// Status and message of a posting refusal code (a code not in the list never gets here).
fn posting_refusal(code: &str) -> (StatusCode, &'static str) {
    POSTING_REFUSALS.iter().find(|(c, _, _)| *c == code).map_or(
        (StatusCode::BAD_GATEWAY, "TikTok refused this post"),
        |(_, status, message)| (*status, *message),
    )
}

impl ApiError {
    /// The error for a TikTok posting error code, when it is one a person can act on.
    pub fn posting_refusal(code: &str, tiktok_log_id: Option<String>) -> Option<Self> {
        // `invalid_params` is the API-wide spelling of the posting docs' `invalid_param`.
        let code = if code == "invalid_params" {
            "invalid_param"
        } else {
            code
        };
        POSTING_REFUSALS
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(code, _, _)| Self::PostingRefused {
                code,
                tiktok_log_id,
            })
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Reauth(_) => Self::ReauthRequired,
            RefreshError::Gone => Self::NotConnected,
            RefreshError::TikTok(e) => {
                tracing::warn!(error = %e, tiktok_log_id = e.log_id().unwrap_or(""), "TikTok call failed");
                Self::from_tiktok(&e)
            }
            RefreshError::Cipher(CipherError::Invalid) => {
                tracing::error!("stored tokens do not decrypt under their record's context");
                Self::Internal
            }
            other => {
                tracing::error!(error = %other, "could not produce usable tokens");
                Self::ServiceUnavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &Response<Body>) -> serde_json::Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).expect("json"),
            _ => panic!("text body expected"),
        }
    }

    #[test]
    fn rate_limits_carry_retry_after_and_the_log_id() {
        let error = ApiError::from_tiktok(&TikTokError::RateLimited {
            retry_after_secs: None,
            log_id: Some("L9".into()),
        });
        let response = error.to_response();
        assert_eq!(response.status(), 429);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(DEFAULT_RETRY_AFTER_SECS))
        );
        assert_eq!(body(&response)["tiktok_log_id"], "L9");
    }

    #[test]
    fn scope_missing_names_the_scope() {
        let response = ApiError::ScopeMissing("video.list").to_response();
        assert_eq!(response.status(), 403);
        assert_eq!(body(&response)["scope"], "video.list");
        assert_eq!(body(&response)["error"], "scope_missing");
    }
}
