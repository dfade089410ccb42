//! Why a use case refused or failed, in the words its caller will see: one enum for every
//! service, with the translations from TikTok's and the token keeper's errors. The HTTP layer
//! (`connect_http::api_error`) is the one place that maps each to a status and a JSON body; the
//! use cases never see HTTP.

use crate::cipher::CipherError;
use crate::refresh::RefreshError;
use crate::store::StoreError;
use crate::tiktok::TikTokError;

/// `Retry-After` when TikTok throttles without saying for how long: its limits are per minute.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// TikTok's posting refusals a person can act on (docs/tiktok.md#video-init-and-tiktoks-refusals),
/// passed on with TikTok's own code.
pub const POSTING_REFUSAL_CODES: [&str; 8] = [
    "spam_risk_too_many_posts",
    "spam_risk_user_banned_from_posting",
    "spam_risk_too_many_pending_share",
    "reached_active_user_cap",
    "unaudited_client_can_only_post_to_private_accounts",
    "url_ownership_unverified",
    "privacy_level_option_mismatch",
    "invalid_param",
];

/// Every way a use case can refuse or fail. Expected refusals (bad input, a missing scope, a
/// revoked grant) are variants too: the caller decides what to tell the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// A webhook whose `TikTok-Signature` is missing, malformed, wrong or too old.
    InvalidSignature(&'static str),
    /// Bad input; the message says what to fix (never echoes a secret).
    InvalidRequest(String),
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
        /// TikTok's code, one of `POSTING_REFUSAL_CODES` (TikTok's `invalid_params` is kept as `invalid_param`):
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
    /// The post cannot be cancelled: it started at TikTok (or is starting), or failed already.
    NotCancelable,
    /// This `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` has not finished yet.
    IdempotencyInProgress,
    /// A dependency (DynamoDB, KMS, Secrets Manager) failed; retrying may help.
    ServiceUnavailable,
    /// A bug or an impossible state; details are logged, not returned.
    Internal,
}

impl ServiceError {
    /// The error for a TikTok failure that retries did not cure.
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

    /// The error for a failed call to a TikTok feature that needs `scope`: TikTok's scope
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

    /// The error for a TikTok posting error code, when it is one a person can act on.
    pub fn posting_refusal(code: &str, tiktok_log_id: Option<String>) -> Option<Self> {
        // `invalid_params` is the API-wide spelling of the posting docs' `invalid_param`.
        let code = if code == "invalid_params" {
            "invalid_param"
        } else {
            code
        };
        POSTING_REFUSAL_CODES
            .iter()
            .find(|c| **c == code)
            .map(|code| Self::PostingRefused {
                code,
                tiktok_log_id,
            })
    }
}

impl From<RefreshError> for ServiceError {
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

/// A store that failed is unavailable to the caller: the cause is logged, never returned.
impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "account store failed");
        Self::ServiceUnavailable
    }
}
