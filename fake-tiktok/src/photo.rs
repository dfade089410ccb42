//! `POST /v2/post/publish/content/init/`: photo posts (TikTok's "Photo" reference). A Direct
//! Post (`post_mode` `DIRECT_POST`, scope `video.publish`) or an upload the creator finishes in
//! TikTok (`MEDIA_UPLOAD`, scope `video.upload`, an inbox notification), of 1 to 35 images that
//! TikTok pulls from verified URLs.
//!
//! Checks run as for the video inits: token → scope → the init rate limit (6 per minute per
//! token, shared with both video inits) → body (400 `invalid_param`) → URL ownership and the
//! account and client policies (403). The scope depends on `post_mode`, which is in the body: it
//! is read ahead of the body checks; a body whose `post_mode` cannot be read needs either scope
//! and then fails the body checks.
//!
//! The image formats are not checked here: TikTok takes only JPEG and WebP and refuses the rest
//! while processing (`FAILED`, `file_format_check_failed`; see [`crate::publish`]).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::display::{ApiError, respond};
use crate::posting::{
    authorize, check_bools, check_policies, check_text, check_url_ownership, create_publish, field,
    init_scope, invalid_param, json_object, object_field, privacy_level, pull_url, source_info,
};
use crate::publish::{NewSource, PublishType};
use crate::ratelimit::Bucket;
use crate::state::{AppState, Store};
use crate::wire::LogId;

/// Longest `post_info.title` of a photo post, in UTF-16 code units.
const TITLE_MAX: usize = 90;
/// Longest `post_info.description`, in UTF-16 code units.
const DESCRIPTION_MAX: usize = 4_000;
/// Most images in one photo post.
const MAX_IMAGES: usize = 35;

/// What a valid photo init body asks for.
struct PhotoRequest {
    kind: PublishType,
    post_info: Value,
    privacy_level: Option<String>,
    images: Vec<String>,
    cover_index: usize,
}

/// `post_mode` as a publish type.
fn post_mode(value: Option<&Value>) -> Option<PublishType> {
    match value.and_then(Value::as_str) {
        Some("DIRECT_POST") => Some(PublishType::DirectPublish),
        Some("MEDIA_UPLOAD") => Some(PublishType::InboxShare),
        _ => None,
    }
}

/// The scopes that may make this request, from a look at `post_mode` before the body checks.
fn scopes_for(body: &[u8]) -> Vec<&'static str> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    match post_mode(value.as_ref().and_then(|v| v.get("post_mode"))) {
        Some(kind) => vec![init_scope(kind)],
        None => vec!["video.publish", "video.upload"],
    }
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<PhotoRequest, ApiError> {
    let body = json_object(headers, body)?;
    match field(&body, "media_type") {
        None => return Err(invalid_param("media_type is required")),
        Some(v) if v.as_str() == Some("PHOTO") => {}
        Some(_) => return Err(invalid_param("media_type must be PHOTO")),
    }
    let kind = post_mode(field(&body, "post_mode"))
        .ok_or_else(|| invalid_param("post_mode must be DIRECT_POST or MEDIA_UPLOAD"))?;
    let info = object_field(&body, "post_info")?
        .ok_or_else(|| invalid_param("post_info is required"))?
        .clone();
    check_text(&info, "post_info", "title", TITLE_MAX)?;
    check_text(&info, "post_info", "description", DESCRIPTION_MAX)?;
    let privacy_level = privacy_level(&info)?;
    check_bools(
        &info,
        &[
            "disable_comment",
            "auto_add_music",
            "brand_content_toggle",
            "brand_organic_toggle",
        ],
    )?;
    let (images, cover_index) = parse_source(source_info(&body)?)?;
    Ok(PhotoRequest {
        kind,
        post_info: Value::Object(info),
        privacy_level,
        images,
        cover_index,
    })
}

/// `source_info`: `PULL_FROM_URL`, 1 to 35 image URLs, the cover's 0-based index among them.
fn parse_source(source: &Map<String, Value>) -> Result<(Vec<String>, usize), ApiError> {
    if field(source, "source").and_then(Value::as_str) != Some("PULL_FROM_URL") {
        return Err(invalid_param(
            "source_info.source must be PULL_FROM_URL: photos can only be pulled",
        ));
    }
    let list = match field(source, "photo_images") {
        None => return Err(invalid_param("source_info.photo_images is required")),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(invalid_param(
                "source_info.photo_images must be an array of URLs",
            ));
        }
    };
    if !(1..=MAX_IMAGES).contains(&list.len()) {
        return Err(invalid_param(format!(
            "source_info.photo_images must hold 1 to {MAX_IMAGES} URLs, got {}",
            list.len()
        )));
    }
    let images = list
        .iter()
        .enumerate()
        .map(|(i, v)| pull_url(v, &format!("source_info.photo_images[{i}]")).map(str::to_owned))
        .collect::<Result<Vec<String>, ApiError>>()?;
    let cover = field(source, "photo_cover_index")
        .ok_or_else(|| invalid_param("source_info.photo_cover_index is required"))?
        .as_u64()
        .ok_or_else(|| invalid_param("source_info.photo_cover_index must be an integer ≥ 0"))?;
    let cover_index = usize::try_from(cover)
        .ok()
        .filter(|&c| c < images.len())
        .ok_or_else(|| {
            invalid_param(format!(
                "source_info.photo_cover_index must be less than the {} photo_images, got {cover}",
                images.len()
            ))
        })?;
    Ok((images, cover_index))
}

pub(crate) async fn content_init(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = app.with(|s| init(s, &headers, &body));
    respond(result, &log_id)
}

fn init(s: &mut Store, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let user = authorize(s, headers, &scopes_for(body), Some(Bucket::Init))?;
    let request = parse(headers, body)?;
    for (i, image) in request.images.iter().enumerate() {
        check_url_ownership(
            &s.config.verified_url_prefixes,
            &format!("source_info.photo_images[{i}]"),
            image,
        )?;
    }
    let admitted = check_policies(s, &user, request.kind, request.privacy_level)?;
    let source = NewSource::Photos {
        images: request.images,
        cover_index: request.cover_index,
    };
    let publish = create_publish(s, &user, request.kind, source, request.post_info, admitted);
    Ok(json!({ "publish_id": publish.id }))
}
