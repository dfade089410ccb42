//! The `/_fake/` control API: the [`crate::FakeTikTok`] methods over HTTP, for `make dev` and for
//! tests running in another process.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{Lifetimes, Rotation};
use crate::faults::{Endpoint, Failure};
use crate::state::AppState;

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
struct GrantRequest {
    open_id: String,
    scopes: Vec<String>,
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
        .route("/_fake/grants", post(mint_grant))
        .route("/_fake/calls", get(calls))
        .route("/_fake/secrets", get(secrets))
        .route("/_fake/users/{open_id}/expire-access", post(expire_access))
        .route("/_fake/users/{open_id}/revoke", post(revoke))
        .route(
            "/_fake/users/{open_id}/live-refresh-tokens",
            get(live_refresh_tokens),
        )
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
        s.clock.now()
    });
    Json(json!({ "ok": true, "now": now })).into_response()
}

async fn latency(State(app): State<AppState>, Json(req): Json<LatencyRequest>) -> Response {
    app.with(|s| s.config.latency = Duration::from_millis(req.millis));
    ok()
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

async fn revoke(State(app): State<AppState>, Path(open_id): Path<String>) -> Response {
    for_user(&app, &open_id, |s| s.grants.revoke_user(&open_id))
}

async fn live_refresh_tokens(State(app): State<AppState>, Path(open_id): Path<String>) -> Response {
    let live = app.with(|s| s.grants.live_refresh_tokens(s.clock.now(), &open_id));
    Json(json!({ "open_id": open_id, "live": live })).into_response()
}
