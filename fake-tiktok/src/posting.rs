//! Content Posting API: `POST /v2/post/publish/creator_info/query/`, `…/video/init/`,
//! `…/inbox/video/init/`, `…/status/fetch/` and `…/cancel/`, and the checks the photo init
//! (`…/content/init/`, [`crate::photo`]) shares with the video inits. The v2 envelope
//! throughout, with the posting docs' `invalid_param` (sic) for bad bodies.
//!
//! Checks run token (401) → scope (401) → per-token rate limit (429) → body (400) → account
//! and client policy (403). A request refused by a later check still counts against the rate
//! limit, as the earlier checks let it through.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::config::{FakeUser, PostingBlock, UNAUDITED_ACTIVE_USER_CAP};
use crate::display::{ApiError, bearer, bearer_token, respond, scope_not_authorized};
use crate::publish::{
    ChunkPlan, MAX_PENDING_SHARES, NewPublish, NewSource, Outcome, Publish, PublishType, Source,
};
use crate::ratelimit::Bucket;
use crate::state::{AppState, Store};
use crate::wire::{LogId, has_content_type};

/// Longest title, in UTF-16 code units.
const TITLE_MAX: usize = 2_200;

const PUBLIC: &str = "PUBLIC_TO_EVERYONE";
const SELF_ONLY: &str = "SELF_ONLY";

pub(crate) fn invalid_param(message: impl Into<String>) -> ApiError {
    (StatusCode::BAD_REQUEST, "invalid_param", message.into())
}

pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
    (StatusCode::FORBIDDEN, code, message.into())
}

/// The privacy levels a creator may pick.
pub(crate) fn privacy_options(user: &FakeUser) -> [&'static str; 3] {
    if user.private_account {
        ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", SELF_ONLY]
    } else {
        [PUBLIC, "MUTUAL_FOLLOW_FRIENDS", SELF_ONLY]
    }
}

fn block_message(block: PostingBlock) -> &'static str {
    match block {
        PostingBlock::TooManyPosts => {
            "The user has reached the daily limit of posts through the API. Please try again later."
        }
        PostingBlock::BannedFromPosting => "The user is banned from making new posts.",
        PostingBlock::ActiveUserCap => {
            "The client has reached its daily quota of users that can post through the API."
        }
    }
}

/// Token, scope (any of `scopes`) and, with a bucket, the per-token rate limit.
pub(crate) fn authorize(
    s: &mut Store,
    headers: &HeaderMap,
    scopes: &[&str],
    bucket: Option<Bucket>,
) -> Result<FakeUser, ApiError> {
    let (bearer, user) = bearer(s, headers)?;
    if !bearer.scopes.iter().any(|g| scopes.contains(&g.as_str())) {
        return Err(scope_not_authorized(scopes.first().copied().unwrap_or("")));
    }
    if let Some(bucket) = bucket {
        let token = bearer_token(headers).unwrap_or_default();
        let now = s.clock.now();
        if !s.rate_limits.admit(bucket, token, now) {
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "API rate limit exceeded, please retry later.".to_owned(),
            ));
        }
    }
    Ok(user)
}

/// Why this user may not post right now, as creator info reports it (with HTTP 200): a
/// scripted block, the daily post cap, or an unaudited client's active-user cap.
fn posting_block(s: &Store, user: &FakeUser) -> Option<PostingBlock> {
    if user.posting_block.is_some() {
        return user.posting_block;
    }
    let now = s.clock.now();
    let cap = usize::try_from(s.config.daily_post_cap).unwrap_or(usize::MAX);
    if s.publishes.direct_posts_today(now, &user.open_id) >= cap {
        return Some(PostingBlock::TooManyPosts);
    }
    if s.config.unaudited {
        let active = s.publishes.active_posters(now);
        if !active.contains(user.open_id.as_str()) && active.len() >= UNAUDITED_ACTIVE_USER_CAP {
            return Some(PostingBlock::ActiveUserCap);
        }
    }
    None
}

pub(crate) async fn creator_info(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
) -> Response {
    let result = app.with(|s| {
        let user = authorize(s, &headers, &["video.publish"], Some(Bucket::CreatorInfo))?;
        // TikTok's "intentional" quirk: these come with HTTP 200.
        if let Some(block) = posting_block(s, &user) {
            return Err((StatusCode::OK, block.code(), block_message(block).to_owned()));
        }
        let digest = hex::encode(Sha256::digest(user.open_id.as_bytes()));
        Ok(json!({
            "creator_avatar_url": format!(
                "https://lf16-tt4d.tiktokcdn.com/obj/tiktok-open-platform/{}~tplv-noop.image?x-expires={}&x-signature=fake",
                &digest[..32],
                s.clock.now() + 7_200
            ),
            "creator_username": user.username,
            "creator_nickname": user.display_name,
            "privacy_level_options": privacy_options(&user),
            "comment_disabled": false,
            "duet_disabled": user.private_account,
            "stitch_disabled": user.private_account,
            "max_video_post_duration_sec": user.max_video_post_duration_sec,
        }))
    });
    respond(result, &log_id)
}

/// The JSON object in the body; an empty body is `{}`. A non-empty body must be declared JSON.
pub(crate) fn json_object(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if !has_content_type(headers, "application/json") {
        return Err(invalid_param("Content-Type must be application/json"));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_param("The request body must be a JSON object")),
        Err(_) => Err(invalid_param("The request body is not valid JSON")),
    }
}

/// A field that may be absent; `null` counts as absent.
pub(crate) fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// What a valid video init body asks for.
struct InitRequest {
    post_info: Value,
    privacy_level: Option<String>,
    source: NewSource,
}

/// An optional string field of at most `max` UTF-16 code units (TikTok counts them so).
pub(crate) fn check_text(
    obj: &Map<String, Value>,
    prefix: &str,
    name: &str,
    max: usize,
) -> Result<(), ApiError> {
    let Some(value) = field(obj, name) else {
        return Ok(());
    };
    let text = value
        .as_str()
        .ok_or_else(|| invalid_param(format!("{prefix}.{name} must be a string")))?;
    let units = text.encode_utf16().count();
    if units > max {
        return Err(invalid_param(format!(
            "{prefix}.{name} must be at most {max} UTF-16 code units, got {units}"
        )));
    }
    Ok(())
}

/// Optional boolean fields of `post_info`.
pub(crate) fn check_bools(info: &Map<String, Value>, names: &[&str]) -> Result<(), ApiError> {
    match names
        .iter()
        .find(|name| field(info, name).is_some_and(|v| !v.is_boolean()))
    {
        Some(name) => Err(invalid_param(format!("post_info.{name} must be a boolean"))),
        None => Ok(()),
    }
}

/// `post_info.privacy_level`: absent, or a string (whether it is offered is a 403, later).
pub(crate) fn privacy_level(info: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match field(info, "privacy_level") {
        None => Ok(None),
        Some(Value::String(p)) => Ok(Some(p.clone())),
        Some(_) => Err(invalid_param("post_info.privacy_level must be a string")),
    }
}

/// An optional object field (`null` counts as absent); anything but an object is a 400.
pub(crate) fn object_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match field(obj, name) {
        None => Ok(None),
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(_) => Err(invalid_param(format!("{name} must be an object"))),
    }
}

fn parse_post_info(body: &Map<String, Value>) -> Result<(Value, Option<String>), ApiError> {
    let info = object_field(body, "post_info")?
        .cloned()
        .unwrap_or_default();
    check_text(&info, "post_info", "title", TITLE_MAX)?;
    let privacy_level = privacy_level(&info)?;
    check_bools(
        &info,
        &[
            "disable_duet",
            "disable_comment",
            "disable_stitch",
            "brand_content_toggle",
            "brand_organic_toggle",
            "is_aigc",
        ],
    )?;
    if let Some(ts) = field(&info, "video_cover_timestamp_ms") {
        let fits = ts.as_i64().is_some_and(|ms| i32::try_from(ms).is_ok());
        if !fits {
            return Err(invalid_param(
                "post_info.video_cover_timestamp_ms must be a 32-bit integer (milliseconds)",
            ));
        }
    }
    Ok((Value::Object(info), privacy_level))
}

/// `source_info`: required, an object.
pub(crate) fn source_info(body: &Map<String, Value>) -> Result<&Map<String, Value>, ApiError> {
    object_field(body, "source_info")?.ok_or_else(|| invalid_param("source_info is required"))
}

/// A URL to pull: a string that parses as a URL (ownership is checked later, as a 403).
pub(crate) fn pull_url<'a>(value: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    let url = value
        .as_str()
        .ok_or_else(|| invalid_param(format!("{name} must be a string")))?;
    if url::Url::parse(url).is_err() {
        return Err(invalid_param(format!("{name} is not a valid URL")));
    }
    Ok(url)
}

fn parse_source_info(body: &Map<String, Value>) -> Result<NewSource, ApiError> {
    let source_info = source_info(body)?;
    match field(source_info, "source").and_then(Value::as_str) {
        Some("FILE_UPLOAD") => {
            let size = |name: &str| -> Result<i64, ApiError> {
                let value = field(source_info, name).ok_or_else(|| {
                    invalid_param(format!("source_info.{name} is required for FILE_UPLOAD"))
                })?;
                value
                    .as_i64()
                    .ok_or_else(|| invalid_param(format!("source_info.{name} must be an integer")))
            };
            let plan = ChunkPlan::new(
                size("video_size")?,
                size("chunk_size")?,
                size("total_chunk_count")?,
            )
            .map_err(invalid_param)?;
            Ok(NewSource::File(plan))
        }
        Some("PULL_FROM_URL") => {
            let url = field(source_info, "video_url").ok_or_else(|| {
                invalid_param("source_info.video_url is required for PULL_FROM_URL")
            })?;
            Ok(NewSource::Url(
                pull_url(url, "source_info.video_url")?.to_owned(),
            ))
        }
        _ => Err(invalid_param(
            "source_info.source must be FILE_UPLOAD or PULL_FROM_URL",
        )),
    }
}

fn parse_init(
    headers: &HeaderMap,
    body: &[u8],
    kind: PublishType,
) -> Result<InitRequest, ApiError> {
    let body = json_object(headers, body)?;
    let (post_info, privacy_level) = match kind {
        PublishType::DirectPublish => parse_post_info(&body)?,
        PublishType::InboxShare => {
            if field(&body, "post_info").is_some() {
                return Err(invalid_param(
                    "post_info is not accepted here: the body of an inbox upload is only source_info",
                ));
            }
            (Value::Null, None)
        }
    };
    Ok(InitRequest {
        post_info,
        privacy_level,
        source: parse_source_info(&body)?,
    })
}

/// `url_ownership_unverified` unless the URL (the value of the field `name`) is https, has a
/// domain host and starts with a verified prefix.
pub(crate) fn check_url_ownership(
    prefixes: &[String],
    name: &str,
    url: &str,
) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        Err(forbidden(
            "url_ownership_unverified",
            format!("{name} is not owned by this app: {why}"),
        ))
    };
    let Ok(parsed) = url::Url::parse(url) else {
        return refuse("not a URL");
    };
    if parsed.scheme() != "https" {
        return refuse("only https URLs are pulled");
    }
    if !matches!(parsed.host(), Some(url::Host::Domain(_))) {
        return refuse("the host must be a verified domain, not an IP address");
    }
    if !prefixes.iter().any(|p| url.starts_with(p.as_str())) {
        return refuse("it is not under a verified domain or URL prefix");
    }
    Ok(())
}

pub(crate) async fn video_init(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = app.with(|s| init(s, &headers, &body, PublishType::DirectPublish));
    respond(result, &log_id)
}

pub(crate) async fn inbox_init(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = app.with(|s| init(s, &headers, &body, PublishType::InboxShare));
    respond(result, &log_id)
}

/// The scope an init of this kind needs.
pub(crate) fn init_scope(kind: PublishType) -> &'static str {
    match kind {
        PublishType::DirectPublish => "video.publish",
        PublishType::InboxShare => "video.upload",
    }
}

fn init(
    s: &mut Store,
    headers: &HeaderMap,
    body: &[u8],
    kind: PublishType,
) -> Result<Value, ApiError> {
    let user = authorize(s, headers, &[init_scope(kind)], Some(Bucket::Init))?;
    let request = parse_init(headers, body, kind)?;
    if let NewSource::Url(url) = &request.source {
        check_url_ownership(
            &s.config.verified_url_prefixes,
            "source_info.video_url",
            url,
        )?;
    }
    let admitted = check_policies(s, &user, kind, request.privacy_level)?;
    let base_url = s.base_url.clone();
    let publish = create_publish(s, &user, kind, request.source, request.post_info, admitted);
    let mut data = json!({ "publish_id": publish.id });
    if let Source::File {
        upload_id,
        upload_token,
        ..
    } = &publish.source
    {
        let url = format!("{base_url}/upload/?upload_id={upload_id}&upload_token={upload_token}");
        let token = upload_token.clone();
        data["upload_url"] = json!(url);
        s.grants.record_upload_token(token);
    }
    Ok(data)
}

/// What the policies let through: the privacy the post gets (`None` for inbox shares) and
/// whether it will be public.
pub(crate) struct Admitted {
    privacy_level: Option<String>,
    public: bool,
}

/// The account and client policies every init applies after its body checks (403s), in
/// order: posting block; then for a Direct Post an unaudited client and a public account,
/// the privacy option, the unaudited active-user cap and the daily post cap; for an inbox share
/// the pending shares.
pub(crate) fn check_policies(
    s: &Store,
    user: &FakeUser,
    kind: PublishType,
    requested_privacy: Option<String>,
) -> Result<Admitted, ApiError> {
    if let Some(block) = user.posting_block {
        return Err(forbidden(block.code(), block_message(block)));
    }
    let now = s.clock.now();
    let unaudited = s.config.unaudited;
    match kind {
        PublishType::DirectPublish => {
            if unaudited && !user.private_account {
                return Err(forbidden(
                    "unaudited_client_can_only_post_to_private_accounts",
                    "Unaudited clients can only post to private accounts.",
                ));
            }
            let privacy = requested_privacy
                .filter(|p| privacy_options(user).contains(&p.as_str()))
                .ok_or_else(|| {
                    forbidden(
                        "privacy_level_option_mismatch",
                        "post_info.privacy_level is missing or not one of the creator's privacy_level_options.",
                    )
                })?;
            if unaudited {
                let active = s.publishes.active_posters(now);
                if !active.contains(user.open_id.as_str())
                    && active.len() >= UNAUDITED_ACTIVE_USER_CAP
                {
                    let block = PostingBlock::ActiveUserCap;
                    return Err(forbidden(block.code(), block_message(block)));
                }
            }
            let cap = usize::try_from(s.config.daily_post_cap).unwrap_or(usize::MAX);
            if s.publishes.direct_posts_today(now, &user.open_id) >= cap {
                let block = PostingBlock::TooManyPosts;
                return Err(forbidden(block.code(), block_message(block)));
            }
            // Unaudited clients' posts are private whatever was asked.
            let privacy = if unaudited {
                SELF_ONLY.to_owned()
            } else {
                privacy
            };
            let public = privacy == PUBLIC && !unaudited;
            Ok(Admitted {
                privacy_level: Some(privacy),
                public,
            })
        }
        PublishType::InboxShare => {
            let pending = s
                .publishes
                .pending_shares(now, s.config.processing_secs, &user.open_id);
            if pending >= MAX_PENDING_SHARES {
                return Err(forbidden(
                    "spam_risk_too_many_pending_share",
                    "The user has too many pending inbox shares. Ask them to post or discard them first.",
                ));
            }
            Ok(Admitted {
                privacy_level: None,
                public: false,
            })
        }
    }
}

/// Records an admitted publish; a public one gets its post id reserved now.
pub(crate) fn create_publish<'a>(
    s: &'a mut Store,
    user: &FakeUser,
    kind: PublishType,
    source: NewSource,
    post_info: Value,
    admitted: Admitted,
) -> &'a Publish {
    let now = s.clock.now();
    s.publishes.create(
        now,
        NewPublish {
            open_id: user.open_id.clone(),
            kind,
            source,
            post_info,
            privacy_level: admitted.privacy_level,
            public_post_id: admitted.public.then(|| crate::ids::post_id(now)),
        },
    )
}

/// The `publish_id` of the body, which must be one of the caller's.
fn own_publish(
    s: &Store,
    headers: &HeaderMap,
    body: &[u8],
    user: &FakeUser,
) -> Result<String, ApiError> {
    let body = json_object(headers, body)?;
    let id = field(&body, "publish_id")
        .ok_or_else(|| invalid_param("publish_id is required"))?
        .as_str()
        .ok_or_else(|| invalid_param("publish_id must be a string"))?;
    let publish = s.publishes.get(id).ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "invalid_publish_id",
            "The publish_id does not exist.".to_owned(),
        )
    })?;
    if publish.open_id != user.open_id {
        return Err((
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id",
            "The access token is not authorized for the specified publish_id.".to_owned(),
        ));
    }
    Ok(id.to_owned())
}

pub(crate) async fn status_fetch(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = app.with(|s| {
        let user = authorize(
            s,
            &headers,
            &["video.publish", "video.upload"],
            Some(Bucket::Status),
        )?;
        let id = own_publish(s, &headers, &body, &user)?;
        s.sweep_publishes();
        let now = s.clock.now();
        let processing = s.config.processing_secs;
        Ok(s.publishes
            .get(&id)
            .map_or_else(|| json!({}), |p| p.status_json(now, processing)))
    });
    respond(result, &log_id)
}

pub(crate) async fn cancel(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = app.with(|s| {
        let user = authorize(s, &headers, &["video.publish", "video.upload"], None)?;
        let id = own_publish(s, &headers, &body, &user)?;
        let now = s.clock.now();
        let processing = s.config.processing_secs;
        let Some(publish) = s.publishes.get_mut(&id) else {
            return Ok(json!({}));
        };
        if publish.status(now, processing).is_final() {
            return Err((
                StatusCode::BAD_REQUEST,
                "publish_not_cancellable",
                "The publish has already finished and can no longer be cancelled.".to_owned(),
            ));
        }
        publish.set_outcome(Outcome::Failed("publish_cancelled".to_owned()));
        s.sweep_publishes();
        Ok(json!({}))
    });
    respond(result, &log_id)
}
