//! The `/_fake/` control API: the [`crate::FakeTikTok`] methods over HTTP, for `make dev` and for
//! tests running in another process.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{Lifetimes, PostingBlock, RemovalReason, Rotation};
use crate::faults::{Endpoint, Failure};
use crate::moderation::TakeDownError;
use crate::publish::FakePublish;
use crate::state::AppState;
use crate::webhooks::WebhookDelivery;

/// JSON mirror of [`Failure`]: `{"type":"status429"}`, `{"type":"timeout","millis":N}`, …
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FailureDto {
    Status429,
    Status500,
    Html502,
    Timeout {
        millis: u64,
    },
    #[serde(rename = "oauth_error200", alias = "oauth_error_200")]
    OAuthError200 {
        error: String,
        description: String,
    },
    ApiError {
        status: u16,
        code: String,
        message: String,
    },
    MalformedJson,
    ConnectionReset,
}

impl From<FailureDto> for Failure {
    fn from(dto: FailureDto) -> Self {
        match dto {
            FailureDto::Status429 => Failure::Status429,
            FailureDto::Status500 => Failure::Status500,
            FailureDto::Html502 => Failure::Html502,
            FailureDto::Timeout { millis } => Failure::Timeout(Duration::from_millis(millis)),
            FailureDto::OAuthError200 { error, description } => {
                Failure::OAuthError200 { error, description }
            }
            FailureDto::ApiError {
                status,
                code,
                message,
            } => Failure::ApiError {
                status,
                code,
                message,
            },
            FailureDto::MalformedJson => Failure::MalformedJson,
            FailureDto::ConnectionReset => Failure::ConnectionReset,
        }
    }
}

#[derive(Debug, Deserialize)]
struct FailRequest {
    endpoint: Endpoint,
    failure: FailureDto,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
struct LifetimesRequest {
    access_secs: i64,
    refresh_secs: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RotationDto {
    Strict,
    Classic,
}

#[derive(Debug, Deserialize)]
struct RotationRequest {
    rotation: RotationDto,
}

#[derive(Debug, Deserialize)]
struct ClockRequest {
    advance_secs: i64,
}

#[derive(Debug, Deserialize)]
struct LatencyRequest {
    millis: u64,
}

#[derive(Debug, Deserialize)]
struct ModerationRequest {
    secs: i64,
}

#[derive(Debug, Deserialize)]
struct GrantRequest {
    open_id: String,
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct WebhookRequest {
    url: Option<String>,
    duplicates: Option<u32>,
    max_attempts: Option<u32>,
    backoff_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct SendWebhookRequest {
    event: String,
    open_id: String,
    #[serde(default)]
    content: Value,
}

#[derive(Debug, Deserialize)]
struct FailPublishRequest {
    reason: String,
}

#[derive(Debug, Deserialize)]
struct PrivacyRequest {
    private: bool,
}

#[derive(Debug, Deserialize)]
struct BlockRequest {
    block: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UnauditedRequest {
    unaudited: bool,
}

pub(crate) fn router(app: AppState) -> Router {
    Router::new()
        .route(
            "/_fake/health",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/_fake/app/{*page}", get(app_page))
        .route("/_fake/fail", post(fail))
        .route("/_fake/lifetimes", post(lifetimes))
        .route("/_fake/rotation", post(rotation))
        .route("/_fake/clock", post(clock))
        .route("/_fake/latency", post(latency))
        .route("/_fake/moderation", post(moderation))
        .route("/_fake/grants", post(mint_grant))
        .route("/_fake/calls", get(calls))
        .route("/_fake/secrets", get(secrets))
        .route("/_fake/users/{open_id}/expire-access", post(expire_access))
        .route("/_fake/users/{open_id}/revoke", post(revoke))
        .route(
            "/_fake/users/{open_id}/live-refresh-tokens",
            get(live_refresh_tokens),
        )
        .route("/_fake/users/{open_id}/privacy", post(privacy))
        .route("/_fake/users/{open_id}/posting-block", post(posting_block))
        .route("/_fake/users/{open_id}/publishes", get(publishes))
        .route("/_fake/publishes/{publish_id}/fail", post(fail_publish))
        .route(
            "/_fake/publishes/{publish_id}/complete",
            post(complete_inbox_share),
        )
        .route("/_fake/publishes/{publish_id}/take-down", post(take_down))
        .route("/_fake/unaudited", post(unaudited))
        .route("/_fake/webhook", post(webhook))
        .route("/_fake/webhook/send", post(send_webhook))
        .route("/_fake/webhook/deliveries", get(webhook_deliveries))
        .with_state(app)
}

/// A stand-in for the developer's own app: `make dev` uses it as `APP_RETURN_URL`, so the browser
/// lands on a page that shows the connect outcome (`tiktok=connected&open_id=…` or the error reason).
async fn app_page(uri: axum::http::Uri) -> Response {
    let params: String = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                crate::pages::escape(&k),
                crate::pages::escape(&v)
            )
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your app</title></head>\
         <body><main><h1>Your app received</h1><table>{params}</table>\
         <p>This page stands in for your application's settings page.</p></main></body></html>"
    );
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

fn ok() -> Response {
    Json(json!({ "ok": true })).into_response()
}

async fn fail(State(app): State<AppState>, Json(req): Json<FailRequest>) -> Response {
    app.with(|s| s.faults.script(req.endpoint, req.failure.into(), req.times));
    ok()
}

async fn lifetimes(State(app): State<AppState>, Json(req): Json<LifetimesRequest>) -> Response {
    app.with(|s| {
        s.config.lifetimes = Lifetimes {
            access_secs: req.access_secs,
            refresh_secs: req.refresh_secs,
        }
    });
    ok()
}

async fn rotation(State(app): State<AppState>, Json(req): Json<RotationRequest>) -> Response {
    let rotation = match req.rotation {
        RotationDto::Strict => Rotation::Strict,
        RotationDto::Classic => Rotation::Classic,
    };
    app.with(|s| s.config.rotation = rotation);
    ok()
}

async fn clock(State(app): State<AppState>, Json(req): Json<ClockRequest>) -> Response {
    let now = app.with(|s| {
        s.clock.advance(req.advance_secs);
        s.sweep_publishes();
        s.clock.now()
    });
    Json(json!({ "ok": true, "now": now })).into_response()
}

async fn latency(State(app): State<AppState>, Json(req): Json<LatencyRequest>) -> Response {
    app.with(|s| s.config.latency = Duration::from_millis(req.millis));
    ok()
}

/// `{"secs":N}`: [`crate::FakeConfig::moderation_secs`] from now on (posts still in moderation
/// included); 400 for a negative N.
async fn moderation(State(app): State<AppState>, Json(req): Json<ModerationRequest>) -> Response {
    if req.secs < 0 {
        return bad_request("invalid_secs");
    }
    app.with(|s| {
        s.config.moderation_secs = req.secs;
        s.sweep_publishes();
    });
    ok()
}

fn bad_request(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// [`crate::FakeTikTok::mint_grant`]; a 400 naming the reason where that would panic.
async fn mint_grant(State(app): State<AppState>, Json(req): Json<GrantRequest>) -> Response {
    let scopes: Vec<&str> = req.scopes.iter().map(String::as_str).collect();
    match app.with(|s| s.mint_grant(&req.open_id, &scopes)) {
        Ok(t) => Json(json!({
            "access_token": t.access_token,
            "refresh_token": t.refresh_token,
            "expires_in": t.expires_in,
            "refresh_expires_in": t.refresh_expires_in,
            "scope": t.scope,
            "open_id": t.open_id,
        }))
        .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "error": e.code() }))).into_response(),
    }
}

async fn calls(State(app): State<AppState>) -> Json<Value> {
    let counts: Map<String, Value> = app.with(|s| {
        Endpoint::ALL
            .iter()
            .chain([Endpoint::Any].iter())
            .map(|e| (e.as_str().to_owned(), json!(s.faults.calls(*e))))
            .collect()
    });
    Json(Value::Object(counts))
}

/// Every code and token issued, plus the client secret: for log scanners in other processes.
async fn secrets(State(app): State<AppState>) -> Json<Value> {
    let all = app.with(|s| {
        let mut all = s.grants.issued().to_vec();
        all.push(s.config.client_secret.clone());
        all
    });
    Json(json!({ "secrets": all }))
}

/// Runs `f` for a known user, 404 otherwise.
fn for_user(app: &AppState, open_id: &str, f: impl FnOnce(&mut crate::state::Store)) -> Response {
    let known = app.with(|s| {
        let known = s.has_user(open_id);
        if known {
            f(s);
        }
        known
    });
    if known {
        ok()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "unknown_user" })),
        )
            .into_response()
    }
}

async fn expire_access(State(app): State<AppState>, Path(open_id): Path<String>) -> Response {
    for_user(&app, &open_id, |s| {
        let now = s.clock.now();
        s.grants.expire_access(now, &open_id);
    })
}

/// The optional body `{"reason":0..=4}` (default 1, the user disconnected the app); 400
/// `invalid_reason` for another value, 5 included (only `/v2/oauth/revoke/` produces it).
async fn revoke(State(app): State<AppState>, Path(open_id): Path<String>, body: Bytes) -> Response {
    let Some(reason) = removal_reason(&body) else {
        return bad_request("invalid_reason");
    };
    for_user(&app, &open_id, |s| s.remove_app(&open_id, reason))
}

/// The reason of a revoke body: none (empty body, `{}` or `"reason": null`) is 1.
fn removal_reason(body: &[u8]) -> Option<RemovalReason> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(RemovalReason::UserDisconnected);
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.as_object()?.get("reason") {
        None | Some(Value::Null) => Some(RemovalReason::UserDisconnected),
        Some(n) => RemovalReason::from_code(n.as_u64()?),
    }
}

async fn live_refresh_tokens(State(app): State<AppState>, Path(open_id): Path<String>) -> Response {
    let live = app.with(|s| s.grants.live_refresh_tokens(s.clock.now(), &open_id));
    Json(json!({ "open_id": open_id, "live": live })).into_response()
}

async fn privacy(
    State(app): State<AppState>,
    Path(open_id): Path<String>,
    Json(req): Json<PrivacyRequest>,
) -> Response {
    for_user(&app, &open_id, |s| {
        if let Some(user) = s.user_mut(&open_id) {
            user.private_account = req.private;
        }
    })
}

/// `{"block":"spam_risk_too_many_posts"|"spam_risk_user_banned_from_posting"|
/// "reached_active_user_cap"|null}`.
async fn posting_block(
    State(app): State<AppState>,
    Path(open_id): Path<String>,
    Json(req): Json<BlockRequest>,
) -> Response {
    let block = match req.block.as_deref() {
        None => None,
        Some(code) => match PostingBlock::from_code(code) {
            Some(block) => Some(block),
            None => return bad_request("unknown_block"),
        },
    };
    for_user(&app, &open_id, |s| {
        if let Some(user) = s.user_mut(&open_id) {
            user.posting_block = block;
        }
    })
}

fn publish_json(p: &FakePublish) -> Value {
    json!({
        "publish_id": p.publish_id,
        "open_id": p.open_id,
        "publish_type": p.publish_type.as_str(),
        "media_type": p.media_type,
        "source": p.source,
        "post_info": p.post_info,
        "privacy_level": p.privacy_level,
        "status": p.status,
        "fail_reason": p.fail_reason,
        "video_size": p.video_size,
        "uploaded_bytes": p.uploaded_bytes,
        "video_url": p.video_url,
        "photo_images": p.photo_images,
        "photo_cover_index": p.photo_cover_index,
        "post_id": p.post_id,
        "created_at": p.created_at,
    })
}

async fn publishes(State(app): State<AppState>, Path(open_id): Path<String>) -> Response {
    let (created, list) =
        app.with(|s| (s.publishes.created_by(&open_id), s.publish_views(&open_id)));
    let list: Vec<Value> = list.iter().map(publish_json).collect();
    Json(json!({ "open_id": open_id, "created": created, "publishes": list })).into_response()
}

fn unknown_publish() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "unknown_publish" })),
    )
        .into_response()
}

async fn fail_publish(
    State(app): State<AppState>,
    Path(publish_id): Path<String>,
    Json(req): Json<FailPublishRequest>,
) -> Response {
    if app.with(|s| s.fail_publish(&publish_id, &req.reason)) {
        ok()
    } else {
        unknown_publish()
    }
}

/// 404 for an unknown publish, 409 for a Direct Post or a failed share.
async fn complete_inbox_share(
    State(app): State<AppState>,
    Path(publish_id): Path<String>,
) -> Response {
    let (known, done) = app.with(|s| {
        (
            s.publishes.get(&publish_id).is_some(),
            s.complete_inbox_share(&publish_id),
        )
    });
    match (known, done) {
        (_, true) => ok(),
        (true, false) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "not_a_pending_inbox_share" })),
        )
            .into_response(),
        (false, false) => unknown_publish(),
    }
}

/// 404 for an unknown publish, 409 for one that is not publicly available (never public, still
/// in moderation, already taken down).
async fn take_down(State(app): State<AppState>, Path(publish_id): Path<String>) -> Response {
    match app.with(|s| s.take_down(&publish_id)) {
        Ok(()) => ok(),
        Err(TakeDownError::Unknown) => unknown_publish(),
        Err(TakeDownError::NotPublic) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "not_publicly_available" })),
        )
            .into_response(),
    }
}

async fn unaudited(State(app): State<AppState>, Json(req): Json<UnauditedRequest>) -> Response {
    app.with(|s| s.config.unaudited = req.unaudited);
    ok()
}

/// Sets the URL (`null` turns webhooks off) and, when given, the delivery knobs.
async fn webhook(State(app): State<AppState>, Json(req): Json<WebhookRequest>) -> Response {
    app.with(|s| {
        s.config.webhook_url = req.url;
        if let Some(n) = req.duplicates {
            s.config.webhook_duplicates = n;
        }
        if let Some(n) = req.max_attempts {
            s.config.webhook_max_attempts = n;
        }
        if let Some(ms) = req.backoff_ms {
            s.config.webhook_backoff = Duration::from_millis(ms);
        }
    });
    ok()
}

async fn send_webhook(
    State(app): State<AppState>,
    Json(req): Json<SendWebhookRequest>,
) -> Response {
    app.with(|s| s.emit_webhook(&req.event, &req.open_id, &req.content));
    ok()
}

fn delivery_json(d: &WebhookDelivery) -> Value {
    json!({
        "event": d.event,
        "open_id": d.open_id,
        "attempt": d.attempt,
        "status": d.status,
    })
}

async fn webhook_deliveries(State(app): State<AppState>) -> Json<Value> {
    let list: Vec<Value> =
        app.with(|s| s.webhooks.deliveries().iter().map(delivery_json).collect());
    Json(json!({ "deliveries": list }))
}
