//! The body of `POST /tiktok/publish`, checked field by field before anything is called, and
//! checked again against the creator's options before TikTok is asked to post. Messages name the
//! field and the rule, never the value sent (it could be anything, a token included).

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use url::{Host, Url};

use super::chunks::ChunkPlan;
use connect_domain::error::ServiceError;
use connect_domain::tiktok::{CreatorInfo, PostInfo, PostMode};

/// Largest body accepted: a title of 2200 characters in 4-byte UTF-8 plus the rest fits easily.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// TikTok counts the title in UTF-16 code units.
pub const MAX_TITLE_UTF16: usize = 2200;
const MAX_URL_LEN: usize = 2048;
/// Every `privacy_level` TikTok knows; the creator's `privacy_level_options` narrow it.
pub const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

/// Where the video comes from, as the app asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRequest {
    /// `{"type":"url"}`: TikTok pulls this https URL (its shape checked here, its domain's
    /// verification at TikTok).
    Url(String),
    /// `{"type":"upload"}`: the client PUTs the file to TikTok by this plan.
    Upload(ChunkPlan),
}

impl SourceRequest {
    /// `url` or `upload`: the `source` stored with the post and shown by its status.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Url(_) => "url",
            Self::Upload(_) => "upload",
        }
    }
}

/// A checked `POST /tiktok/publish` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The account to post to; `None`: the most recently connected one.
    pub open_id: Option<String>,
    /// Direct Post or upload to the inbox; decides the scope needed (`scope`).
    pub mode: PostMode,
    /// Where TikTok gets the video.
    pub source: SourceRequest,
    /// The post's settings: required for `direct`, refused for `inbox` (the creator sets them
    /// in TikTok).
    pub post_info: Option<PostInfo>,
    /// SHA-256 of the canonical JSON body: what an `Idempotency-Key` is bound to.
    pub fingerprint: String,
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidRequest(message.into())
}

/// Checks an object's keys against the allowed ones; the message names the first unknown key
/// only when it is short and printable (it is the client's own key, not a value).
fn only_keys(
    object: &Map<String, Value>,
    what: &str,
    allowed: &[&str],
) -> Result<(), ServiceError> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let shown = key.len() <= 40 && key.bytes().all(|b| b.is_ascii_graphic());
            let name = if shown { key.as_str() } else { "(unprintable)" };
            Err(invalid(format!(
                "{what} has an unknown field `{name}`; allowed: {}",
                allowed.join(", ")
            )))
        }
    }
}

fn optional_bool(object: &Map<String, Value>, field: &str) -> Result<Option<bool>, ServiceError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(format!("post_info.{field} must be true or false"))),
    }
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

impl PublishRequest {
    /// Checks a raw body (at most `MAX_BODY_BYTES` of JSON) field by field; an unknown field or
    /// a broken rule is `400 invalid_request` naming the field and the rule.
    pub fn parse(body: &[u8]) -> Result<Self, ServiceError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(invalid(format!(
                "the body must be at most {MAX_BODY_BYTES} bytes of JSON"
            )));
        }
        let value: Value = serde_json::from_slice(body).map_err(|_| {
            invalid("the body must be a JSON object (Content-Type: application/json)")
        })?;
        let Value::Object(root) = &value else {
            return Err(invalid("the body must be a JSON object"));
        };
        only_keys(
            root,
            "the body",
            &["open_id", "mode", "source", "post_info"],
        )?;
        let open_id = match root.get("open_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(crate::accounts::parse_open_id(id)?.to_owned()),
            Some(_) => return Err(invalid("open_id must be a string")),
        };
        let mode = root
            .get("mode")
            .and_then(Value::as_str)
            .and_then(PostMode::parse)
            .ok_or_else(|| invalid("mode must be \"direct\" or \"inbox\""))?;
        let source = parse_source(root.get("source"))?;
        let post_info = match (mode, root.get("post_info")) {
            (PostMode::Direct, Some(Value::Object(info))) => Some(parse_post_info(info)?),
            (PostMode::Direct, _) => {
                return Err(invalid(
                    "post_info (an object with at least privacy_level) is required for mode \"direct\"",
                ));
            }
            (PostMode::Inbox, None | Some(Value::Null)) => None,
            (PostMode::Inbox, Some(_)) => {
                return Err(invalid(
                    "post_info is not allowed for mode \"inbox\": the creator finishes the post in TikTok",
                ));
            }
        };
        Ok(Self {
            open_id,
            mode,
            source,
            post_info,
            // serde_json's maps are sorted, so equal bodies give equal fingerprints.
            fingerprint: hex::encode(Sha256::digest(value.to_string().as_bytes())),
        })
    }

    /// The scope TikTok needs for this mode.
    pub fn scope(&self) -> &'static str {
        match self.mode {
            PostMode::Direct => connect_domain::scope::VIDEO_PUBLISH,
            PostMode::Inbox => connect_domain::scope::VIDEO_UPLOAD,
        }
    }
}

fn parse_source(source: Option<&Value>) -> Result<SourceRequest, ServiceError> {
    let Some(Value::Object(source)) = source else {
        return Err(invalid(
            "source must be {\"type\":\"url\",\"video_url\":\"https://…\"} or {\"type\":\"upload\",\"video_size\":<bytes>}",
        ));
    };
    match source.get("type").and_then(Value::as_str) {
        Some("url") => {
            only_keys(source, "source", &["type", "video_url"])?;
            let raw = source
                .get("video_url")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("source.video_url must be a string"))?;
            Ok(SourceRequest::Url(check_video_url(raw)?))
        }
        Some("upload") => {
            only_keys(source, "source", &["type", "video_size"])?;
            let size = source
                .get("video_size")
                .and_then(Value::as_u64)
                .ok_or_else(|| invalid("source.video_size must be a whole number of bytes, written as an integer (2837, not 2837.0)"))?;
            ChunkPlan::for_size(size)
                .map(SourceRequest::Upload)
                .map_err(invalid)
        }
        _ => Err(invalid("source.type must be \"url\" or \"upload\"")),
    }
}

/// TikTok pulls only from https URLs on a verified domain or prefix, never an IP address, and
/// follows no redirect; checking the shape here saves the creator a wasted post attempt.
fn check_video_url(raw: &str) -> Result<String, ServiceError> {
    let bad = || {
        invalid(format!(
            "source.video_url must be an https URL of at most {MAX_URL_LEN} characters on a domain verified in TikTok's portal (not an IP address, no user:password@)"
        ))
    };
    if raw.len() > MAX_URL_LEN {
        return Err(bad());
    }
    let url = Url::parse(raw).map_err(|_| bad())?;
    let named_host = matches!(url.host(), Some(Host::Domain(_)));
    if url.scheme() != "https"
        || !named_host
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    Ok(raw.to_owned())
}

fn parse_post_info(info: &Map<String, Value>) -> Result<PostInfo, ServiceError> {
    only_keys(
        info,
        "post_info",
        &[
            "title",
            "privacy_level",
            "disable_duet",
            "disable_comment",
            "disable_stitch",
            "video_cover_timestamp_ms",
            "brand_content_toggle",
            "brand_organic_toggle",
            "is_aigc",
        ],
    )?;
    let privacy_level = info
        .get("privacy_level")
        .and_then(Value::as_str)
        .filter(|p| PRIVACY_LEVELS.contains(p))
        .ok_or_else(|| {
            invalid(format!(
                "post_info.privacy_level must be one of the creator's privacy_level_options ({})",
                PRIVACY_LEVELS.join(", ")
            ))
        })?
        .to_owned();
    let title = match info.get("title") {
        None | Some(Value::Null) => None,
        Some(Value::String(title)) if utf16_len(title) <= MAX_TITLE_UTF16 => Some(title.clone()),
        Some(Value::String(_)) => {
            return Err(invalid(format!(
                "post_info.title must be at most {MAX_TITLE_UTF16} UTF-16 code units (TikTok counts an emoji as 2)"
            )));
        }
        Some(_) => return Err(invalid("post_info.title must be a string")),
    };
    let video_cover_timestamp_ms = match info.get("video_cover_timestamp_ms") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|ms| i32::try_from(ms).ok())
                .ok_or_else(|| {
                    invalid("post_info.video_cover_timestamp_ms must be a whole number of milliseconds from 0 to 2147483647")
                })?,
        ),
    };
    let post = PostInfo {
        title,
        privacy_level,
        disable_duet: optional_bool(info, "disable_duet")?,
        disable_comment: optional_bool(info, "disable_comment")?,
        disable_stitch: optional_bool(info, "disable_stitch")?,
        video_cover_timestamp_ms,
        brand_content_toggle: optional_bool(info, "brand_content_toggle")?,
        brand_organic_toggle: optional_bool(info, "brand_organic_toggle")?,
        is_aigc: optional_bool(info, "is_aigc")?,
    };
    if post.brand_content_toggle == Some(true) && post.privacy_level == "SELF_ONLY" {
        return Err(invalid(
            "branded content (post_info.brand_content_toggle) cannot be private: choose another privacy_level",
        ));
    }
    Ok(post)
}

/// What TikTok's creator info allows, checked before the init (TikTok's own checks answer with
/// less precise errors, after counting the attempt against the creator's limits).
pub fn check_against_creator(post: &PostInfo, creator: &CreatorInfo) -> Result<(), ServiceError> {
    if !creator.privacy_level_options.contains(&post.privacy_level) {
        return Err(invalid(format!(
            "post_info.privacy_level is not one of this creator's options: {}",
            creator.privacy_level_options.join(", ")
        )));
    }
    let toggles = [
        ("comment", creator.comment_disabled, post.disable_comment),
        ("duet", creator.duet_disabled, post.disable_duet),
        ("stitch", creator.stitch_disabled, post.disable_stitch),
    ];
    for (what, creator_disabled, asked) in toggles {
        if creator_disabled && asked == Some(false) {
            return Err(invalid(format!(
                "post_info.disable_{what} cannot be false: this creator has turned {what}s off in TikTok"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<PublishRequest, String> {
        PublishRequest::parse(body.as_bytes())
            .map_err(|e| connect_http::api_error::ApiError::from(e).message())
    }

    const DIRECT_URL: &str = r#"{"mode":"direct","source":{"type":"url","video_url":"https://media.example.com/v.mp4"},"post_info":{"privacy_level":"SELF_ONLY","title":"hi"}}"#;

    #[test]
    fn a_direct_url_post_parses() {
        let request = parse(DIRECT_URL).expect("valid");
        assert_eq!(request.mode, PostMode::Direct);
        assert_eq!(request.scope(), "video.publish");
        assert!(matches!(request.source, SourceRequest::Url(_)));
        assert_eq!(
            request.post_info.expect("post info").title.as_deref(),
            Some("hi")
        );
    }

    #[test]
    fn equal_bodies_have_equal_fingerprints_whatever_the_key_order() {
        let reordered = r#"{"post_info":{"title":"hi","privacy_level":"SELF_ONLY"},"source":{"video_url":"https://media.example.com/v.mp4","type":"url"},"mode":"direct"}"#;
        assert_eq!(
            parse(DIRECT_URL).expect("a").fingerprint,
            parse(reordered).expect("b").fingerprint
        );
        let other = DIRECT_URL.replace("hi", "ho");
        assert_ne!(
            parse(DIRECT_URL).expect("a").fingerprint,
            parse(&other).expect("c").fingerprint
        );
    }

    #[test]
    fn titles_are_counted_in_utf16_units() {
        let emoji = "😀".repeat(1100); // 2200 units
        let ok = DIRECT_URL.replace("\"hi\"", &format!("\"{emoji}\""));
        assert!(parse(&ok).is_ok());
        let long = DIRECT_URL.replace("\"hi\"", &format!("\"{emoji}a\""));
        assert!(parse(&long).expect_err("too long").contains("2200 UTF-16"));
    }

    #[test]
    fn each_rule_has_its_own_message_and_echoes_no_value() {
        let secret = "act.SECRET!value";
        let cases = [
            ("[]", "JSON object"),
            (r#"{"mode":"x"}"#, "mode must be"),
            (r#"{"mode":"direct"}"#, "source must be"),
            (
                r#"{"mode":"inbox","source":{"type":"upload","video_size":0}}"#,
                "at least 1 byte",
            ),
            (
                r#"{"mode":"inbox","source":{"type":"upload","video_size":-5}}"#,
                "whole number",
            ),
            (
                r#"{"mode":"inbox","source":{"type":"url","video_url":"http://a.example/v"}}"#,
                "https URL",
            ),
            (
                r#"{"mode":"inbox","source":{"type":"url","video_url":"https://10.0.0.1/v"}}"#,
                "not an IP",
            ),
            (
                r#"{"mode":"direct","source":{"type":"upload","video_size":10}}"#,
                "post_info",
            ),
            (
                r#"{"mode":"inbox","source":{"type":"upload","video_size":10},"post_info":{}}"#,
                "not allowed",
            ),
            (
                r#"{"mode":"direct","source":{"type":"upload","video_size":10},"post_info":{"privacy_level":"EVERYONE"}}"#,
                "privacy_level",
            ),
            (
                r#"{"mode":"direct","source":{"type":"upload","video_size":10},"post_info":{"privacy_level":"SELF_ONLY","disable_duet":"no"}}"#,
                "disable_duet",
            ),
            (
                r#"{"mode":"direct","source":{"type":"upload","video_size":10},"post_info":{"privacy_level":"SELF_ONLY","brand_content_toggle":true}}"#,
                "branded",
            ),
            (r#"{"mode":"inbox","token":"x"}"#, "unknown field `token`"),
        ];
        for (body, expected) in cases {
            let message = parse(&body.replace("\"x\"", &format!("\"{secret}\""))).expect_err(body);
            assert!(message.contains(expected), "{body}: {message}");
            assert!(!message.contains(secret), "{message}");
        }
    }

    #[test]
    fn creator_options_decide_privacy_and_toggles() {
        let creator = CreatorInfo {
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            duet_disabled: true,
            ..CreatorInfo::default()
        };
        let mut post = PostInfo {
            privacy_level: "PUBLIC_TO_EVERYONE".into(),
            ..PostInfo::default()
        };
        assert!(check_against_creator(&post, &creator).is_err());
        post.privacy_level = "SELF_ONLY".into();
        assert_eq!(check_against_creator(&post, &creator), Ok(()));
        post.disable_duet = Some(false);
        assert!(check_against_creator(&post, &creator).is_err());
    }
}
