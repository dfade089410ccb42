//! Display API: `GET /v2/user/info/`, `POST /v2/video/list/`, `POST /v2/video/query/`.
//! Everything answers with the v2 envelope; checks run in the order token → scope → params.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{FakeUser, FakeVideo};
use crate::grants::Bearer;
use crate::state::{AppState, Store};
use crate::wire::{LogId, Params, envelope_error, envelope_ok, has_content_type};

/// An API error: HTTP status, `error.code`, `error.message`.
pub(crate) type ApiError = (StatusCode, &'static str, String);

pub(crate) fn token_invalid() -> ApiError {
    (
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
        "The access token is invalid or not found in the request.".to_owned(),
    )
}

pub(crate) fn scope_not_authorized(scope: &str) -> ApiError {
    (
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
        format!("The access_token does not bear user's grant on {scope} scope"),
    )
}

fn invalid_params(message: &str) -> ApiError {
    (
        StatusCode::BAD_REQUEST,
        "invalid_params",
        message.to_owned(),
    )
}

/// Which scope each user field needs.
fn user_field_scope(field: &str) -> Option<&'static str> {
    match field {
        "open_id" | "union_id" | "avatar_url" | "avatar_url_100" | "avatar_large_url"
        | "display_name" => Some("user.info.basic"),
        "bio_description" | "profile_deep_link" | "is_verified" | "username" => {
            Some("user.info.profile")
        }
        "follower_count" | "following_count" | "likes_count" | "video_count" => {
            Some("user.info.stats")
        }
        _ => None,
    }
}

const VIDEO_FIELDS: [&str; 16] = [
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "is_aigc",
];

pub(crate) fn respond(result: Result<Value, ApiError>, log_id: &str) -> Response {
    match result {
        Ok(data) => envelope_ok(data, log_id),
        Err((status, code, message)) => envelope_error(status, code, &message, log_id),
    }
}

/// The token of `Authorization: Bearer <token>`, if the header has that shape.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim())
}

/// The user behind `Authorization: Bearer <token>`.
pub(crate) fn bearer(s: &Store, headers: &HeaderMap) -> Result<(Bearer, FakeUser), ApiError> {
    let token = bearer_token(headers).ok_or_else(token_invalid)?;
    let bearer = s
        .grants
        .authenticate(s.clock.now(), token)
        .ok_or_else(token_invalid)?;
    let user = s.user(&bearer.open_id).cloned().ok_or_else(token_invalid)?;
    Ok((bearer, user))
}

/// The comma-separated `fields` query parameter; required, every entry known.
fn fields(params: &Params, known: impl Fn(&str) -> bool) -> Result<Vec<&str>, ApiError> {
    let raw = params
        .one("fields")
        .ok()
        .flatten()
        .ok_or_else(|| invalid_params("fields is required"))?;
    let list: Vec<&str> = raw.split(',').collect();
    if let Some(bad) = list.iter().find(|f| !known(f)) {
        return Err(invalid_params(&format!("Invalid field: {bad}")));
    }
    Ok(list)
}

pub(crate) async fn user_info(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let result = app.with(|s| {
        let (bearer, user) = bearer(s, &headers)?;
        if !bearer.scopes.iter().any(|s| s.starts_with("user.info.")) {
            return Err(scope_not_authorized("user.info.basic"));
        }
        let fields = fields(&params, |f| user_field_scope(f).is_some())?;
        let missing_scope = fields.iter().any(|f| {
            user_field_scope(f).is_some_and(|needed| !bearer.scopes.iter().any(|s| s == needed))
        });
        if missing_scope {
            return Err((
                StatusCode::BAD_REQUEST,
                "scope_permission_missed",
                "Access token is invalid, some fields need additional scopes.".to_owned(),
            ));
        }
        let all = user_json(&user);
        let picked: Map<String, Value> = fields
            .iter()
            .filter_map(|f| all.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
        Ok(json!({ "user": picked }))
    });
    respond(result, &log_id)
}

fn user_json(u: &FakeUser) -> Map<String, Value> {
    let sized = |suffix: &str| {
        u.avatar_url
            .replacen(".jpeg", &format!("~c5_{suffix}.jpeg"), 1)
    };
    let value = json!({
        "open_id": u.open_id,
        "union_id": u.union_id,
        "avatar_url": u.avatar_url,
        "avatar_url_100": sized("100x100"),
        "avatar_large_url": sized("1080x1080"),
        "display_name": u.display_name,
        "bio_description": u.bio_description,
        "profile_deep_link": format!("https://vm.tiktok.com/@{}?utm_campaign=tt4d_open_api", u.username),
        "is_verified": u.is_verified,
        "username": u.username,
        "follower_count": u.follower_count,
        "following_count": u.following_count,
        "likes_count": u.likes_count,
        "video_count": u.video_count,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The user and the requested video fields, after the token, scope and `fields` checks.
fn video_request<'a>(
    s: &Store,
    headers: &HeaderMap,
    params: &'a Params,
) -> Result<(FakeUser, Vec<&'a str>), ApiError> {
    let (bearer, user) = bearer(s, headers)?;
    if !bearer.scopes.iter().any(|s| s == "video.list") {
        return Err(scope_not_authorized("video.list"));
    }
    let fields = fields(params, |f| VIDEO_FIELDS.contains(&f))?;
    Ok((user, fields))
}

/// Parses a JSON body; an empty body means "all defaults".
fn json_body<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if !has_content_type(headers, "application/json") {
        return Err(invalid_params("Content-Type must be application/json"));
    }
    serde_json::from_slice(body).map_err(|_| invalid_params("The request body is not valid JSON"))
}

#[derive(Debug, Default, Deserialize)]
struct ListBody {
    max_count: Option<i64>,
    cursor: Option<i64>,
}

pub(crate) async fn video_list(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let result = app.with(|s| {
        let (user, fields) = video_request(s, &headers, &params)?;
        let body: ListBody = json_body(&headers, &body)?;
        let max_count = body.max_count.unwrap_or(10);
        if !(1..=20).contains(&max_count) {
            return Err(invalid_params("max_count must be between 1 and 20"));
        }
        let cursor = body.cursor.unwrap_or(i64::MAX);
        if cursor < 0 {
            return Err(invalid_params(
                "cursor must be a non-negative timestamp in milliseconds",
            ));
        }
        // Public videos strictly older than the cursor (Unix ms), newest first.
        let mut older: Vec<&FakeVideo> = user
            .videos
            .iter()
            .filter(|v| v.create_time.saturating_mul(1_000) < cursor)
            .collect();
        older.sort_by_key(|v| std::cmp::Reverse(v.create_time));
        let page_len = usize::try_from(max_count).unwrap_or(10).min(older.len());
        let page = &older[..page_len];
        let now = s.clock.now();
        let videos: Vec<Value> = page
            .iter()
            .map(|v| video_json(s, &user, v, &fields, now))
            .collect();
        Ok(json!({
            "videos": videos,
            "cursor": page.last().map_or(0, |v| v.create_time.saturating_mul(1_000)),
            "has_more": older.len() > page_len,
        }))
    });
    respond(result, &log_id)
}

#[derive(Debug, Default, Deserialize)]
struct QueryBody {
    filters: Option<Filters>,
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    video_ids: Option<Vec<String>>,
}

pub(crate) async fn video_query(
    State(app): State<AppState>,
    Extension(LogId(log_id)): Extension<LogId>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(uri.query().unwrap_or_default().as_bytes());
    let result = app.with(|s| {
        let (user, fields) = video_request(s, &headers, &params)?;
        let body: QueryBody = json_body(&headers, &body)?;
        let ids = body
            .filters
            .and_then(|f| f.video_ids)
            .filter(|ids| (1..=20).contains(&ids.len()))
            .ok_or_else(|| invalid_params("filters.video_ids must hold 1 to 20 ids"))?;
        let now = s.clock.now();
        // Only the caller's own videos; other ids are silently left out.
        let videos: Vec<Value> = ids
            .iter()
            .filter_map(|id| user.videos.iter().find(|v| &v.id == id))
            .map(|v| video_json(s, &user, v, &fields, now))
            .collect();
        Ok(json!({ "videos": videos, "cursor": 0, "has_more": false }))
    });
    respond(result, &log_id)
}

/// The requested fields of a video (`id` always); the cover URL expires 6 h from now.
fn video_json(s: &Store, user: &FakeUser, v: &FakeVideo, fields: &[&str], now: i64) -> Value {
    let utm = format!(
        "utm_campaign=tt4d_open_api&utm_source={}",
        s.config.client_key
    );
    let share_url = format!(
        "https://www.tiktok.com/@{}/video/{}?{utm}",
        user.username, v.id
    );
    let full = json!({
        "id": v.id,
        "create_time": v.create_time,
        "cover_image_url": format!(
            "https://p16-sign.tiktokcdn.com/obj/tos-maliva-p-0068/{}~tplv-noop.image?x-expires={}&x-signature=fake",
            v.id,
            now + 6 * 3_600
        ),
        "share_url": share_url,
        "video_description": v.video_description,
        "duration": v.duration,
        "height": v.height,
        "width": v.width,
        "title": v.title,
        "embed_html": format!(
            "<blockquote class=\"tiktok-embed\" cite=\"{share_url}\" data-video-id=\"{}\"><section></section></blockquote>",
            v.id
        ),
        "embed_link": format!("https://www.tiktok.com/player/v1/{}?{utm}", v.id),
        "like_count": v.like_count,
        "comment_count": v.comment_count,
        "share_count": v.share_count,
        "view_count": v.view_count,
        "is_aigc": v.is_aigc,
    });
    let picked: Map<String, Value> = full
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() == "id" || fields.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(picked)
}
