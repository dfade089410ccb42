//! The body of `POST /tiktok/publish`, checked field by field before anything is called, and
//! checked again against the creator's options before TikTok is asked to post. Messages name the
//! field and the rule, never the value sent (it could be anything, a token included).

use connect_domain::ids::OpenId;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use url::{Host, Url};

use super::chunks::ChunkPlan;
use connect_domain::error::ServiceError;
use connect_domain::tiktok::{CreatorInfo, MediaType, PostInfo, PostMode};

/// Largest body accepted: 35 photo URLs of 2048 characters and a 4000-unit description in
/// 4-byte UTF-8 fit.
pub const MAX_BODY_BYTES: usize = 128 * 1024;
/// TikTok counts a video's title in UTF-16 code units.
pub const MAX_TITLE_UTF16: usize = 2200;
/// A photo post's title, in UTF-16 code units.
pub const MAX_PHOTO_TITLE_UTF16: usize = 90;
/// A photo post's description, in UTF-16 code units.
pub const MAX_PHOTO_DESCRIPTION_UTF16: usize = 4000;
/// Images in one photo post.
pub const MAX_PHOTOS: usize = 35;
/// The image types TikTok takes for photo posts, by the URL path's extension (it refuses PNG).
pub const PHOTO_EXTENSIONS: [&str; 3] = [".jpg", ".jpeg", ".webp"];
const MAX_URL_LEN: usize = 2048;
/// Every `privacy_level` TikTok knows; the creator's `privacy_level_options` narrow it.
pub const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

/// Where the media comes from, as the app asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRequest {
    /// `{"type":"url"}`: TikTok pulls this https URL (its shape checked here, its domain's
    /// verification at TikTok).
    Url(String),
    /// `{"type":"upload"}`: the client PUTs the file to TikTok by this plan.
    Upload(ChunkPlan),
    /// A photo post's `{"type":"url","photo_urls":[…],"cover_index"}`: TikTok pulls the images.
    Photos {
        /// 1 to `MAX_PHOTOS` https URLs of JPEG or WebP images, in post order.
        photo_urls: Vec<String>,
        /// The cover, 0-based (0 when the request named none).
        cover_index: u32,
    },
}

impl SourceRequest {
    /// `url` or `upload`: the `source` stored with the post and shown by its status.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Url(_) | Self::Photos { .. } => "url",
            Self::Upload(_) => "upload",
        }
    }

    /// Every URL TikTok will pull (none for an upload).
    pub fn urls(&self) -> Vec<&str> {
        match self {
            Self::Url(url) => vec![url.as_str()],
            Self::Photos { photo_urls, .. } => photo_urls.iter().map(String::as_str).collect(),
            Self::Upload(_) => Vec::new(),
        }
    }
}

/// A checked `POST /tiktok/publish` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The account to post to; `None`: the most recently connected one.
    pub open_id: Option<OpenId>,
    /// Direct Post or upload to the inbox; decides the scope needed (`scope`).
    pub mode: PostMode,
    /// A video (the default) or a photo post.
    pub media_type: MediaType,
    /// Where TikTok gets the media.
    pub source: SourceRequest,
    /// The post's settings: required for `direct`; for `inbox` refused with a video and only
    /// `title`/`description` with photos (the creator sets the rest in TikTok).
    pub post_info: Option<PostInfo>,
    /// When to post, Unix seconds (`publish_at`); `None`: now. Checked against the clock by
    /// `scheduled::check_publish_at`.
    pub publish_at: Option<i64>,
    /// The checked body as JSON (the scheduled post stores it, without `publish_at`).
    pub body: Value,
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
            &[
                "open_id",
                "mode",
                "media_type",
                "source",
                "post_info",
                "publish_at",
            ],
        )?;
        let publish_at = match root.get("publish_at") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_i64().ok_or_else(|| {
                invalid("publish_at must be a whole number of Unix seconds (UTC)")
            })?),
        };
        let open_id = match root.get("open_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(crate::accounts::parse_open_id(id)?),
            Some(_) => return Err(invalid("open_id must be a string")),
        };
        let mode = root
            .get("mode")
            .and_then(Value::as_str)
            .and_then(PostMode::parse)
            .ok_or_else(|| invalid("mode must be \"direct\" or \"inbox\""))?;
        let media_type = match root.get("media_type") {
            None | Some(Value::Null) => MediaType::Video,
            Some(value) => value
                .as_str()
                .and_then(MediaType::parse)
                .ok_or_else(|| invalid("media_type must be \"video\" or \"photo\""))?,
        };
        let source = match media_type {
            MediaType::Video => parse_source(root.get("source"))?,
            MediaType::Photo => parse_photo_source(root.get("source"))?,
        };
        if publish_at.is_some() && matches!(source, SourceRequest::Upload(_)) {
            return Err(invalid(
                "publish_at needs a URL source: TikTok gives an upload's URL only when the post starts",
            ));
        }
        let post_info = match (media_type, mode, root.get("post_info")) {
            (MediaType::Video, PostMode::Direct, Some(Value::Object(info))) => {
                Some(parse_post_info(info)?)
            }
            (MediaType::Photo, _, Some(Value::Object(info))) => {
                Some(parse_photo_post_info(info, mode)?)
            }
            (_, PostMode::Direct, _) => {
                return Err(invalid(
                    "post_info (an object with at least privacy_level) is required for mode \"direct\"",
                ));
            }
            (_, PostMode::Inbox, None | Some(Value::Null)) => None,
            (MediaType::Video, PostMode::Inbox, Some(_)) => {
                return Err(invalid(
                    "post_info is not allowed for a video with mode \"inbox\": the creator finishes the post in TikTok",
                ));
            }
            (MediaType::Photo, PostMode::Inbox, Some(_)) => {
                return Err(invalid("post_info must be an object"));
            }
        };
        Ok(Self {
            open_id,
            mode,
            media_type,
            source,
            post_info,
            publish_at,
            // serde_json's maps are sorted, so equal bodies give equal fingerprints.
            fingerprint: hex::encode(Sha256::digest(value.to_string().as_bytes())),
            body: value,
        })
    }

    /// Refuses a URL outside the prefixes verified in TikTok's portal (none given: TikTok alone
    /// checks), so the creator's attempt is not wasted on `url_ownership_unverified`.
    pub fn check_url_prefixes(&self, prefixes: &[String]) -> Result<(), ServiceError> {
        if prefixes.is_empty() {
            return Ok(());
        }
        match self
            .source
            .urls()
            .iter()
            .position(|url| !prefixes.iter().any(|p| url.starts_with(p.as_str())))
        {
            None => Ok(()),
            Some(at) => Err(invalid(format!(
                "{} must start with one of the URL prefixes verified in TikTok's portal: {}",
                match self.source {
                    SourceRequest::Photos { .. } => format!("source.photo_urls[{at}]"),
                    _ => "source.video_url".to_owned(),
                },
                prefixes.join(", ")
            ))),
        }
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
    checked_url(raw).map(|_| raw.to_owned()).ok_or_else(|| {
        invalid(format!(
            "source.video_url must be an https URL of at most {MAX_URL_LEN} characters on a domain verified in TikTok's portal (not an IP address, no user:password@)"
        ))
    })
}

/// An https URL of at most `MAX_URL_LEN` characters on a named host, without credentials.
fn checked_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok().filter(|_| raw.len() <= MAX_URL_LEN)?;
    let named_host = matches!(url.host(), Some(Host::Domain(_)));
    let plain = url.scheme() == "https"
        && named_host
        && url.username().is_empty()
        && url.password().is_none();
    plain.then_some(url)
}

/// A photo post's source: `{"type":"url","photo_urls":[1–35 https URLs],"cover_index"}`.
fn parse_photo_source(source: Option<&Value>) -> Result<SourceRequest, ServiceError> {
    let shape = "source must be {\"type\":\"url\",\"photo_urls\":[\"https://…/1.jpg\",…],\"cover_index\":0} for media_type \"photo\" (TikTok pulls photos from URLs only)";
    let Some(Value::Object(source)) = source else {
        return Err(invalid(shape));
    };
    if source.get("type").and_then(Value::as_str) != Some("url") {
        return Err(invalid(shape));
    }
    only_keys(source, "source", &["type", "photo_urls", "cover_index"])?;
    let Some(Value::Array(urls)) = source.get("photo_urls") else {
        return Err(invalid(shape));
    };
    if urls.is_empty() || urls.len() > MAX_PHOTOS {
        return Err(invalid(format!(
            "source.photo_urls must hold 1 to {MAX_PHOTOS} image URLs"
        )));
    }
    let mut photo_urls = Vec::with_capacity(urls.len());
    for (at, value) in urls.iter().enumerate() {
        let url = value.as_str().and_then(checked_url).ok_or_else(|| {
            invalid(format!(
                "source.photo_urls[{at}] must be an https URL of at most {MAX_URL_LEN} characters on a domain verified in TikTok's portal (not an IP address, no user:password@)"
            ))
        })?;
        let path = url.path().to_ascii_lowercase();
        if !PHOTO_EXTENSIONS.iter().any(|ext| path.ends_with(ext)) {
            return Err(invalid(format!(
                "source.photo_urls[{at}] must name a JPEG or WebP image (a path ending in .jpg, .jpeg or .webp): TikTok refuses PNG and other formats"
            )));
        }
        photo_urls.push(url.to_string());
    }
    let cover_index = match source.get("cover_index") {
        None | Some(Value::Null) => 0,
        Some(value) => value
            .as_u64()
            .filter(|i| *i < urls.len() as u64)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "source.cover_index must be a whole number from 0 to {} (the position of the cover in photo_urls)",
                    urls.len() - 1
                ))
            })?,
    };
    Ok(SourceRequest::Photos {
        photo_urls,
        cover_index,
    })
}

/// A text field of at most `max` UTF-16 code units (TikTok's count: an emoji is 2).
fn optional_text(
    info: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ServiceError> {
    match info.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if utf16_len(text) <= max => Ok(Some(text.clone())),
        Some(Value::String(_)) => Err(invalid(format!(
            "post_info.{field} must be at most {max} UTF-16 code units (TikTok counts an emoji as 2)"
        ))),
        Some(_) => Err(invalid(format!("post_info.{field} must be a string"))),
    }
}

/// A photo post's `post_info`: Direct Post takes TikTok's photo fields, an inbox upload only the
/// texts (the creator chooses the rest in TikTok).
fn parse_photo_post_info(
    info: &Map<String, Value>,
    mode: PostMode,
) -> Result<PostInfo, ServiceError> {
    let title = optional_text(info, "title", MAX_PHOTO_TITLE_UTF16)?;
    let description = optional_text(info, "description", MAX_PHOTO_DESCRIPTION_UTF16)?;
    if mode == PostMode::Inbox {
        only_keys(
            info,
            "post_info (a photo post to the inbox)",
            &["title", "description"],
        )?;
        return Ok(PostInfo {
            title,
            description,
            ..PostInfo::default()
        });
    }
    only_keys(
        info,
        "post_info (a photo post)",
        &[
            "title",
            "description",
            "privacy_level",
            "disable_comment",
            "auto_add_music",
            "brand_content_toggle",
            "brand_organic_toggle",
        ],
    )?;
    let post = PostInfo {
        title,
        description,
        privacy_level: privacy_level(info)?,
        disable_comment: optional_bool(info, "disable_comment")?,
        auto_add_music: optional_bool(info, "auto_add_music")?,
        brand_content_toggle: optional_bool(info, "brand_content_toggle")?,
        brand_organic_toggle: optional_bool(info, "brand_organic_toggle")?,
        ..PostInfo::default()
    };
    branded_is_not_private(&post)?;
    Ok(post)
}

fn privacy_level(info: &Map<String, Value>) -> Result<String, ServiceError> {
    info.get("privacy_level")
        .and_then(Value::as_str)
        .filter(|p| PRIVACY_LEVELS.contains(p))
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(format!(
                "post_info.privacy_level must be one of the creator's privacy_level_options ({})",
                PRIVACY_LEVELS.join(", ")
            ))
        })
}

fn branded_is_not_private(post: &PostInfo) -> Result<(), ServiceError> {
    if post.brand_content_toggle == Some(true) && post.privacy_level == "SELF_ONLY" {
        return Err(invalid(
            "branded content (post_info.brand_content_toggle) cannot be private: choose another privacy_level",
        ));
    }
    Ok(())
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
    let privacy_level = privacy_level(info)?;
    let title = optional_text(info, "title", MAX_TITLE_UTF16)?;
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
        ..PostInfo::default()
    };
    branded_is_not_private(&post)?;
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

    const PHOTO: &str = r#"{"mode":"direct","media_type":"photo","source":{"type":"url","photo_urls":["https://media.example.com/a.jpg","https://media.example.com/b.WEBP"],"cover_index":1},"post_info":{"privacy_level":"SELF_ONLY","title":"hi","description":"long","auto_add_music":true}}"#;

    #[test]
    fn a_direct_photo_post_parses() {
        let request = parse(PHOTO).expect("valid");
        assert_eq!(request.media_type, MediaType::Photo);
        assert_eq!(request.scope(), "video.publish");
        assert_eq!(
            request.source,
            SourceRequest::Photos {
                photo_urls: vec![
                    "https://media.example.com/a.jpg".into(),
                    "https://media.example.com/b.WEBP".into()
                ],
                cover_index: 1
            }
        );
        let info = request.post_info.expect("post info");
        assert_eq!(info.description.as_deref(), Some("long"));
        assert_eq!(info.auto_add_music, Some(true));
        let inbox = r#"{"mode":"inbox","media_type":"photo","source":{"type":"url","photo_urls":["https://media.example.com/a.jpeg"]},"post_info":{"title":"t"}}"#;
        let inbox = parse(inbox).expect("inbox photo");
        assert_eq!(inbox.scope(), "video.upload");
        assert!(matches!(
            inbox.source,
            SourceRequest::Photos { cover_index: 0, .. }
        ));
    }

    #[test]
    fn each_photo_rule_is_checked_before_tiktok() {
        let urls = |n: usize| {
            (0..n)
                .map(|i| format!("\"https://media.example.com/{i}.jpg\""))
                .collect::<Vec<_>>()
                .join(",")
        };
        let with_urls = |n: usize| {
            PHOTO.replace(
                r#""https://media.example.com/a.jpg","https://media.example.com/b.WEBP""#,
                &urls(n),
            )
        };
        assert!(parse(&with_urls(35)).is_ok());
        let cases = [
            (with_urls(36), "1 to 35"),
            (with_urls(0), "1 to 35"),
            (PHOTO.replace("b.WEBP", "b.png"), "JPEG or WebP"),
            (PHOTO.replace("b.WEBP", "b"), "JPEG or WebP"),
            (
                PHOTO.replace("https://media", "http://media"),
                "photo_urls[0]",
            ),
            (
                PHOTO.replace("\"cover_index\":1", "\"cover_index\":2"),
                "0 to 1",
            ),
            (
                PHOTO.replace("\"cover_index\":1", "\"cover_index\":-1"),
                "cover_index",
            ),
            (
                PHOTO.replace("\"hi\"", &format!("\"{}\"", "a".repeat(91))),
                "90 UTF-16",
            ),
            (
                PHOTO.replace("\"hi\"", &format!("\"{}\"", "😀".repeat(46))),
                "90 UTF-16",
            ),
            (
                PHOTO.replace("\"long\"", &format!("\"{}\"", "a".repeat(4001))),
                "4000 UTF-16",
            ),
            (
                PHOTO.replace("\"auto_add_music\"", "\"disable_duet\""),
                "unknown field `disable_duet`",
            ),
            (
                PHOTO.replace("\"type\":\"url\"", "\"type\":\"upload\""),
                "photo_urls",
            ),
            (PHOTO.replace("\"photo\"", "\"gif\""), "media_type"),
            (
                PHOTO.replace("\"mode\":\"direct\"", "\"mode\":\"inbox\""),
                "allowed: title, description",
            ),
        ];
        for (body, expected) in cases {
            let message = parse(&body).expect_err(&body);
            assert!(message.contains(expected), "{body}: {message}");
        }
        assert!(parse(&PHOTO.replace("\"hi\"", &format!("\"{}\"", "a".repeat(90)))).is_ok());
    }

    #[test]
    fn urls_outside_the_verified_prefixes_are_refused_when_prefixes_are_given() {
        let verified = vec!["https://media.example.com/".to_owned()];
        assert_eq!(
            parse(PHOTO).map(|r| r.check_url_prefixes(&verified)),
            Ok(Ok(()))
        );
        let other = PublishRequest::parse(
            PHOTO
                .replace("https://media.example.com/b", "https://cdn.example.org/b")
                .as_bytes(),
        )
        .expect("valid shape");
        let refused = other.check_url_prefixes(&verified).expect_err("outside");
        let message = connect_http::api_error::ApiError::from(refused).message();
        assert!(message.contains("photo_urls[1]"), "{message}");
        assert_eq!(
            other.check_url_prefixes(&[]),
            Ok(()),
            "no prefixes: TikTok checks"
        );
        let video =
            PublishRequest::parse(DIRECT_URL.replace("media.example", "x.example").as_bytes())
                .expect("valid shape");
        assert!(video.check_url_prefixes(&verified).is_err());
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
