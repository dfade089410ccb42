//! TikTok's wire format: the v2 JSON envelope, the flat OAuth token answer, and the quirks the
//! parsers absorb (errors with HTTP 200, ids as numbers or strings, `x-tt-logid`):
//! docs/tiktok.md#quirks, docs/tiktok.md#the-token-endpoint and
//! docs/tiktok.md#the-v2-envelope-and-api-errors. Pure functions over a `RawAnswer`, so they run
//! on arbitrary bytes without a server (fuzzing, the fake).

use http::HeaderMap;
use http::header::RETRY_AFTER;
use serde::Deserialize;

use super::{Profile, TikTokError, TokenGrant, Video, VideoPage};
use crate::scope::{self, ScopeSet};
use crate::secret::{AccessToken, RefreshToken};

/// The parts of an HTTP answer that classification needs. Public so the pure parsers below
/// (`parse_*_answer`) can be exercised on arbitrary bytes without a server. No `Debug`: a token
/// answer's body holds plaintext tokens.
#[derive(Default)]
pub struct RawAnswer {
    /// The HTTP status code; never decisive alone (TikTok sends errors with 200).
    pub status: u16,
    /// The answer's headers (read for `x-tt-logid` and `Retry-After`).
    pub headers: HeaderMap,
    /// The body as received (the HTTP adapter stops reading at 256 KiB).
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// An answer with no headers, for feeding the parsers directly (tests, fuzzing).
    pub fn with_body(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            ..Self::default()
        }
    }

    fn log_id(&self, from_body: Option<String>) -> Option<String> {
        from_body
            .filter(|s| !s.is_empty())
            .or_else(|| header_log_id(&self.headers))
    }

    fn retry_after_secs(&self) -> Option<u64> {
        self.headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The error for an answer whose body was not what we expected.
    fn unusable(&self, detail: &'static str) -> TikTokError {
        let log_id = self.log_id(None);
        match self.status {
            429 => TikTokError::RateLimited {
                retry_after_secs: self.retry_after_secs(),
                log_id,
            },
            500.. => TikTokError::Unavailable {
                detail,
                status: Some(self.status),
                log_id,
            },
            status => TikTokError::Unexpected {
                detail,
                status,
                log_id,
            },
        }
    }
}

/// TikTok's request id (`x-tt-logid`), cut to 64 characters: what support asks for.
pub fn header_log_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-tt-logid")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(64).collect())
}

/// A string field TikTok only informs us with: anything else (null, a number, an object) reads as
/// absent instead of making the whole answer unreadable, so an `invalid_grant` with an odd
/// `log_id` is still an `invalid_grant`.
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

/// Flat token response or OAuth error body; which one is decided by the fields, not the status.
#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    refresh_token: Option<String>,
    open_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    scope: Option<String>,
    expires_in: Option<i64>,
    refresh_expires_in: Option<i64>,
    error: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    error_description: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    log_id: Option<String>,
}

/// An OAuth error body (`error` + `error_description`, often with HTTP 200), classified.
fn oauth_error(
    answer: &RawAnswer,
    error: &str,
    description: Option<String>,
    log_id: Option<String>,
) -> TikTokError {
    let description: String = description.unwrap_or_default().chars().take(300).collect();
    match (answer.status, error) {
        (429, _) | (_, "rate_limit_exceeded") => TikTokError::RateLimited {
            retry_after_secs: answer.retry_after_secs(),
            log_id,
        },
        (500.., _) | (_, "server_error" | "temporarily_unavailable") => TikTokError::Unavailable {
            detail: "TikTok reported a server error",
            status: Some(answer.status),
            log_id,
        },
        _ => TikTokError::OAuth {
            error: error.chars().take(64).collect(),
            description,
            log_id,
        },
    }
}

/// Classifies an answer of `/v2/oauth/token/` (code exchange or refresh): a grant only when the
/// body has no `error` and carries every token field, whatever the HTTP status says.
pub fn parse_token_answer(answer: &RawAnswer) -> Result<TokenGrant, TikTokError> {
    let Ok(body) = serde_json::from_slice::<TokenBody>(&answer.body) else {
        return Err(answer.unusable("token answer is not JSON"));
    };
    let log_id = answer.log_id(body.log_id);
    if let Some(error) = body.error.filter(|e| !e.is_empty()) {
        return Err(oauth_error(answer, &error, body.error_description, log_id));
    }
    match (
        body.access_token,
        body.refresh_token,
        body.open_id,
        body.expires_in,
        body.refresh_expires_in,
    ) {
        (
            Some(access),
            Some(refresh),
            Some(open_id),
            Some(expires_in),
            Some(refresh_expires_in),
        ) if (200..300).contains(&answer.status)
            && !access.is_empty()
            && !refresh.is_empty()
            && !open_id.is_empty() =>
        {
            Ok(TokenGrant {
                open_id: open_id.into(),
                access_token: AccessToken::new(access),
                refresh_token: RefreshToken::new(refresh),
                expires_in,
                refresh_expires_in,
                scopes: ScopeSet::parse_comma_list(body.scope.as_deref().unwrap_or_default())
                    .unwrap_or_default(),
            })
        }
        _ => Err(answer.unusable("token answer lacks required fields")),
    }
}

/// Revoke answers `{}` on success and an OAuth error body otherwise.
pub fn parse_revoke_answer(answer: &RawAnswer) -> Result<(), TikTokError> {
    #[derive(Deserialize)]
    struct RevokeBody {
        error: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        error_description: Option<String>,
        #[serde(default, deserialize_with = "lenient_string")]
        log_id: Option<String>,
    }
    let Ok(body) = serde_json::from_slice::<RevokeBody>(&answer.body) else {
        return Err(answer.unusable("revoke answer is not JSON"));
    };
    let log_id = answer.log_id(body.log_id);
    match body.error.filter(|e| !e.is_empty()) {
        Some(error) => Err(oauth_error(answer, &error, body.error_description, log_id)),
        None if (200..300).contains(&answer.status) => Ok(()),
        None => Err(answer.unusable("revoke failed without an error body")),
    }
}

/// The `data` half of the v2 envelope `{"data": …, "error": {"code": "ok", …}}`.
#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
}

#[derive(Deserialize)]
struct EnvelopeError {
    code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    log_id: Option<String>,
}

/// Decides a v2 API answer by `error.code == "ok"`, never by the HTTP status alone.
pub(crate) fn parse_envelope<T: for<'de> Deserialize<'de>>(
    answer: &RawAnswer,
) -> Result<T, TikTokError> {
    // Errors carry `"data": {}`, which need not parse as `T`; read the error first.
    #[derive(Deserialize)]
    struct ErrorOnly {
        error: Option<EnvelopeError>,
    }
    let Ok(ErrorOnly { error }) = serde_json::from_slice::<ErrorOnly>(&answer.body) else {
        return Err(answer.unusable("API answer is not JSON"));
    };
    let Some(error) = error else {
        return Err(answer.unusable("API answer has no error object"));
    };
    let log_id = answer.log_id(error.log_id);
    match error.code.as_str() {
        "ok" if (200..300).contains(&answer.status) => {
            let envelope: Envelope<T> =
                serde_json::from_slice(&answer.body).map_err(|_| TikTokError::Unexpected {
                    detail: "API data has an unexpected shape",
                    status: answer.status,
                    log_id: log_id.clone(),
                })?;
            envelope.data.ok_or(TikTokError::Unexpected {
                detail: "API answer has no data",
                status: answer.status,
                log_id,
            })
        }
        "ok" => Err(answer.unusable("API answered ok with an error status")),
        "rate_limit_exceeded" => Err(TikTokError::RateLimited {
            retry_after_secs: answer.retry_after_secs(),
            log_id,
        }),
        "internal_error" => Err(TikTokError::Unavailable {
            detail: "TikTok reported an internal error",
            status: Some(answer.status),
            log_id,
        }),
        code => Err(TikTokError::Api {
            status: answer.status,
            code: code.chars().take(64).collect(),
            message: error
                .message
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect(),
            log_id,
        }),
    }
}

#[derive(Deserialize)]
struct UserData {
    user: Profile,
}

#[derive(Deserialize)]
struct VideoListData {
    #[serde(default)]
    videos: Vec<Video>,
    cursor: Option<i64>,
    #[serde(default)]
    has_more: bool,
}

/// Classifies an answer of `/v2/user/info/`: the profile only when `error.code == "ok"`.
pub fn parse_user_info_answer(answer: &RawAnswer) -> Result<Profile, TikTokError> {
    parse_envelope::<UserData>(answer).map(|data| data.user)
}

/// Classifies an answer of `/v2/video/list/`: the page only when `error.code == "ok"`.
pub fn parse_video_list_answer(answer: &RawAnswer) -> Result<VideoPage, TikTokError> {
    parse_envelope::<VideoListData>(answer).map(|data| VideoPage {
        videos: data.videos,
        cursor: data.cursor,
        has_more: data.has_more,
    })
}

/// Classifies an answer of `/v2/video/query/`: the videos found only when `error.code == "ok"`.
pub fn parse_video_query_answer(answer: &RawAnswer) -> Result<Vec<Video>, TikTokError> {
    parse_envelope::<VideoListData>(answer).map(|data| data.videos)
}

/// The user-info fields we ask for, limited to what the granted scopes allow (asking for more
/// fails the whole call with `scope_permission_missed`).
pub fn profile_fields(scopes: &ScopeSet) -> Vec<&'static str> {
    let mut fields = vec!["open_id", "union_id", "avatar_url", "display_name"];
    if scopes.contains(scope::USER_INFO_PROFILE) {
        fields.extend([
            "username",
            "bio_description",
            "profile_deep_link",
            "is_verified",
        ]);
    }
    if scopes.contains(scope::USER_INFO_STATS) {
        fields.extend([
            "follower_count",
            "following_count",
            "likes_count",
            "video_count",
        ]);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> RawAnswer {
        RawAnswer::with_body(status, body)
    }

    #[test]
    fn token_success_is_decided_by_the_body() {
        let ok = r#"{"access_token":"act.a!1","expires_in":86400,"open_id":"o","refresh_expires_in":31536000,
                    "refresh_token":"rft.r!2","scope":"user.info.basic,video.list","token_type":"Bearer"}"#;
        let grant = parse_token_answer(&answer(200, ok)).expect("grant");
        assert_eq!(grant.open_id, "o");
        assert_eq!(grant.scopes.to_comma_list(), "user.info.basic,video.list");

        let err = r#"{"error":"invalid_grant","error_description":"Authorization code is expired.","log_id":"L1"}"#;
        match parse_token_answer(&answer(200, err)) {
            Err(TikTokError::OAuth { error, log_id, .. }) => {
                assert_eq!(error, "invalid_grant");
                assert_eq!(log_id.as_deref(), Some("L1"));
            }
            other => panic!("expected OAuth error, got {other:?}"),
        }
    }

    #[test]
    fn unusable_token_answers_are_classified() {
        assert!(matches!(
            parse_token_answer(&answer(502, "<html>Bad gateway</html>")),
            Err(TikTokError::Unavailable { .. })
        ));
        assert!(matches!(
            parse_token_answer(&answer(200, "{\"access_tok")),
            Err(TikTokError::Unexpected { .. })
        ));
        assert!(matches!(
            parse_token_answer(&answer(404, "Unsupported path(Janus)")),
            Err(TikTokError::Unexpected { status: 404, .. })
        ));
        assert!(matches!(
            parse_token_answer(&answer(429, "")),
            Err(TikTokError::RateLimited { .. })
        ));
        assert!(matches!(
            parse_token_answer(&answer(200, r#"{"access_token":"act.x","open_id":"o"}"#)),
            Err(TikTokError::Unexpected { .. })
        ));
    }

    #[test]
    fn envelope_errors_with_http_200_are_errors() {
        let body = r#"{"data":{},"error":{"code":"access_token_invalid","message":"The access token is invalid","log_id":"L"}}"#;
        assert!(matches!(
            parse_envelope::<UserData>(&answer(200, body)),
            Err(TikTokError::Api { code, .. }) if code == "access_token_invalid"
        ));
        let ok = r#"{"data":{"user":{"display_name":"A"}},"error":{"code":"ok","message":"","log_id":"L"}}"#;
        let data = parse_envelope::<UserData>(&answer(200, ok)).expect("ok");
        assert_eq!(data.user.display_name.as_deref(), Some("A"));
    }

    /// Informational fields of an odd type do not hide the error they come with.
    #[test]
    fn odd_informational_fields_keep_the_error_readable() {
        let grant_gone = r#"{"error":"invalid_grant","error_description":null,"log_id":12345}"#;
        assert!(matches!(
            parse_token_answer(&answer(200, grant_gone)),
            Err(TikTokError::OAuth { error, log_id: None, .. }) if error == "invalid_grant"
        ));
        let null_message =
            r#"{"data":{},"error":{"code":"access_token_invalid","message":null,"log_id":["L"]}}"#;
        assert!(matches!(
            parse_envelope::<UserData>(&answer(200, null_message)),
            Err(TikTokError::Api { code, .. }) if code == "access_token_invalid"
        ));
    }

    #[test]
    fn revoke_answers() {
        assert_eq!(parse_revoke_answer(&answer(200, "{}")), Ok(()));
        let refused = r#"{"error":"invalid_request","error_description":"The request parameters are malformed.","log_id":"L2"}"#;
        assert!(matches!(
            parse_revoke_answer(&answer(200, refused)),
            Err(TikTokError::OAuth { error, .. }) if error == "invalid_request"
        ));
        assert!(matches!(
            parse_revoke_answer(&answer(503, "<html>down</html>")),
            Err(TikTokError::Unavailable { .. })
        ));
        assert!(matches!(
            parse_revoke_answer(&answer(404, "{}")),
            Err(TikTokError::Unexpected { status: 404, .. })
        ));
    }

    #[test]
    fn video_pages_keep_ids_as_strings_and_tolerate_missing_fields() {
        let body = r#"{"data":{"videos":[{"id":"7080213458555737986","title":"t","create_time":1643332803,"like_count":5},{"id":"7080213458555737987"}],
                       "cursor":1643332803000,"has_more":true},"error":{"code":"ok","message":"","log_id":"L"}}"#;
        let data: VideoListData = parse_envelope(&answer(200, body)).expect("page");
        assert_eq!(data.videos[0].id, "7080213458555737986");
        assert_eq!(data.videos[0].like_count, Some(5));
        assert_eq!(data.videos[1].title, None);
        assert_eq!(data.cursor, Some(1_643_332_803_000));
        assert!(data.has_more);
    }

    #[test]
    fn profile_fields_follow_the_granted_scopes() {
        let basic = ScopeSet::parse_comma_list("user.info.basic").expect("scopes");
        assert_eq!(
            profile_fields(&basic),
            ["open_id", "union_id", "avatar_url", "display_name"]
        );
        let all = ScopeSet::parse_comma_list("user.info.basic,user.info.profile,user.info.stats")
            .expect("scopes");
        let fields = profile_fields(&all);
        assert!(fields.contains(&"username") && fields.contains(&"follower_count"));
    }
}
