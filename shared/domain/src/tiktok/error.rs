use std::fmt;

/// A failed call to TikTok, classified by what the caller should do about it.
///
/// No variant carries a token, code or secret; `description`/`message` are TikTok's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TikTokError {
    /// An OAuth endpoint answered with an error body (often with HTTP 200): `invalid_grant`, …
    OAuth {
        /// TikTok's OAuth error code (`invalid_grant`, `invalid_request`, …), at most 64
        /// characters.
        error: String,
        /// TikTok's `error_description`, at most 300 characters (empty when it sent none).
        description: String,
        /// TikTok's request id (the body's `log_id`, else the `x-tt-logid` header), for TikTok's
        /// support.
        log_id: Option<String>,
    },
    /// A v2 API answered with `error.code != "ok"`.
    Api {
        /// The HTTP status the answer came with.
        status: u16,
        /// TikTok's `error.code` (`access_token_invalid`, `scope_not_authorized`, …), at most 64
        /// characters.
        code: String,
        /// TikTok's `error.message`, at most 300 characters.
        message: String,
        /// TikTok's request id, when it sent one.
        log_id: Option<String>,
    },
    /// HTTP 429 / `rate_limit_exceeded`.
    RateLimited {
        /// The answer's `Retry-After`, in seconds, when it had one (TikTok documents none).
        retry_after_secs: Option<u64>,
        /// TikTok's request id, when it sent one.
        log_id: Option<String>,
    },
    /// TikTok could not be reached or answered 5xx, an HTML page, or a timeout.
    Unavailable {
        /// What went wrong, in fixed words of this code (never TikTok's text or a URL).
        detail: &'static str,
        /// The HTTP status of the answer, when one came; `None` for a timeout or a broken
        /// connection.
        status: Option<u16>,
        /// TikTok's request id, when it sent one.
        log_id: Option<String>,
    },
    /// A 2xx/4xx answer we could not understand (malformed JSON, missing fields, unknown path).
    Unexpected {
        /// What was wrong with the answer, in fixed words of this code.
        detail: &'static str,
        /// The HTTP status the answer came with.
        status: u16,
        /// TikTok's request id, when it sent one.
        log_id: Option<String>,
    },
}

impl TikTokError {
    /// TikTok's request id for this failure, if any: log it as `tiktok_log_id`.
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Self::OAuth { log_id, .. }
            | Self::Api { log_id, .. }
            | Self::RateLimited { log_id, .. }
            | Self::Unavailable { log_id, .. }
            | Self::Unexpected { log_id, .. } => log_id.as_deref(),
        }
    }

    /// Whether TikTok refused the access token itself: `access_token_invalid` from a v2 API, or
    /// any OAuth error from revoke (TikTok refuses an expired token there as unknown). A fresh
    /// token may succeed where this one failed.
    pub fn refuses_token(&self) -> bool {
        match self {
            Self::Api { code, .. } => code == "access_token_invalid",
            Self::OAuth { .. } => true,
            _ => false,
        }
    }

    /// Whether trying again later may succeed (the caller decides whether and when).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}

impl fmt::Display for TikTokError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OAuth {
                error, description, ..
            } => write!(f, "TikTok OAuth error {error}: {description}"),
            Self::Api {
                status,
                code,
                message,
                ..
            } => write!(f, "TikTok API error {code} (HTTP {status}): {message}"),
            Self::RateLimited { .. } => write!(f, "TikTok rate limit exceeded"),
            Self::Unavailable { detail, status, .. } => match status {
                Some(s) => write!(f, "TikTok unavailable: {detail} (HTTP {s})"),
                None => write!(f, "TikTok unavailable: {detail}"),
            },
            Self::Unexpected { detail, status, .. } => {
                write!(f, "unexpected TikTok answer: {detail} (HTTP {status})")
            }
        }
    }
}

impl std::error::Error for TikTokError {}
