use std::fmt;

/// A failed call to TikTok, classified by what the caller should do about it.
///
/// No variant carries a token, code or secret; `description`/`message` are TikTok's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TikTokError {
    /// An OAuth endpoint answered with an error body (often with HTTP 200): `invalid_grant`, …
    OAuth {
        error: String,
        description: String,
        log_id: Option<String>,
    },
    /// A v2 API answered with `error.code != "ok"`.
    Api {
        status: u16,
        code: String,
        message: String,
        log_id: Option<String>,
    },
    /// HTTP 429 / `rate_limit_exceeded`.
    RateLimited {
        retry_after_secs: Option<u64>,
        log_id: Option<String>,
    },
    /// TikTok could not be reached or answered 5xx, an HTML page, or a timeout.
    Unavailable {
        detail: &'static str,
        status: Option<u16>,
        log_id: Option<String>,
    },
    /// A 2xx/4xx answer we could not understand (malformed JSON, missing fields, unknown path).
    Unexpected {
        detail: &'static str,
        status: u16,
        log_id: Option<String>,
    },
}

impl TikTokError {
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
