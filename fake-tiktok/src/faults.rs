//! Scripted faults and per-endpoint call counters.
//!
//! Every TikTok endpoint runs through [`endpoint_layer`]: it counts the call, takes the next
//! scripted fault for that endpoint (if any) and either answers with it or lets the real handler run.
//! A fault other than `Timeout` short-circuits: the request has no effect on the fake's state.
//! A `Timeout` lets the request run to completion first (it takes effect: a token is issued, a
//! post is created) and only then holds the answer back, so a client that gives up meanwhile
//! has still changed TikTok's state — "the post was created but our request timed out".
//! The same layer applies the configured latency to the API endpoints (not the authorize page),
//! sleeping without the store's lock so that slow requests overlap.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::conn::ConnHandle;
use crate::state::AppState;
use crate::wire::{LogId, Outcome, envelope_error, oauth_error_body};

/// A TikTok endpoint, for fault scripting and call counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /v2/auth/authorize/` and the consent form `POST /v2/auth/authorize/consent/`.
    Authorize,
    /// `POST /v2/oauth/token/`
    Token,
    /// `POST /v2/oauth/revoke/`
    Revoke,
    /// `GET /v2/user/info/`
    UserInfo,
    /// `POST /v2/video/list/`
    VideoList,
    /// `POST /v2/video/query/`
    VideoQuery,
    /// `POST /v2/post/publish/creator_info/query/`
    CreatorInfo,
    /// The three init endpoints: `POST /v2/post/publish/video/init/`,
    /// `POST /v2/post/publish/inbox/video/init/` and `POST /v2/post/publish/content/init/`
    /// (photos).
    VideoInit,
    /// `POST /v2/post/publish/status/fetch/`
    StatusFetch,
    /// `POST /v2/post/publish/cancel/`
    PublishCancel,
    /// `PUT /upload/` (the `upload_url`).
    Upload,
    /// Any of the above: a fault scripted for `Any` hits the next request to any endpoint;
    /// `calls(Any)` is the total.
    Any,
}

impl Endpoint {
    /// The concrete endpoints (everything but `Any`).
    pub const ALL: [Endpoint; 11] = [
        Endpoint::Authorize,
        Endpoint::Token,
        Endpoint::Revoke,
        Endpoint::UserInfo,
        Endpoint::VideoList,
        Endpoint::VideoQuery,
        Endpoint::CreatorInfo,
        Endpoint::VideoInit,
        Endpoint::StatusFetch,
        Endpoint::PublishCancel,
        Endpoint::Upload,
    ];

    /// The snake_case name used by the control API and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::UserInfo => "user_info",
            Endpoint::VideoList => "video_list",
            Endpoint::VideoQuery => "video_query",
            Endpoint::CreatorInfo => "creator_info",
            Endpoint::VideoInit => "video_init",
            Endpoint::StatusFetch => "status_fetch",
            Endpoint::PublishCancel => "publish_cancel",
            Endpoint::Upload => "upload",
            Endpoint::Any => "any",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Endpoint::Authorize => Kind::Page,
            Endpoint::Token | Endpoint::Revoke => Kind::OAuth,
            _ => Kind::Api,
        }
    }
}

/// What the three families of endpoints answer errors with.
enum Kind {
    /// Browser-facing HTML.
    Page,
    /// Flat `{error, error_description, log_id}`.
    OAuth,
    /// The v2 `{data, error}` envelope.
    Api,
}

/// A scripted fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429: `rate_limit_exceeded` in the v2 envelope; OAuth-shaped body on `/v2/oauth/*`;
    /// an HTML page on the authorize endpoint.
    Status429,
    /// HTTP 500: `internal_error` in the v2 envelope; OAuth `server_error` on `/v2/oauth/*`;
    /// an HTML page on the authorize endpoint.
    Status500,
    /// HTTP 502 with a gateway's HTML page (`text/html`).
    Html502,
    /// Handle the request normally (it takes effect), then hold the answer back this long:
    /// a client with a shorter timeout gives up although TikTok did the work.
    Timeout(Duration),
    /// HTTP 200 + `{error, error_description, log_id}` (meant for Token/Revoke; served as is elsewhere).
    OAuthError200 { error: String, description: String },
    /// A v2 envelope error with this HTTP status (e.g. 200 + `access_token_invalid`).
    ApiError {
        status: u16,
        code: String,
        message: String,
    },
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// Close the connection without answering.
    ConnectionReset,
}

impl Failure {
    fn name(&self) -> &'static str {
        match self {
            Failure::Status429 => "status429",
            Failure::Status500 => "status500",
            Failure::Html502 => "html502",
            Failure::Timeout(_) => "timeout",
            Failure::OAuthError200 { .. } => "oauth_error200",
            Failure::ApiError { .. } => "api_error",
            Failure::MalformedJson => "malformed_json",
            Failure::ConnectionReset => "connection_reset",
        }
    }
}

#[derive(Debug)]
struct Scripted {
    endpoint: Endpoint,
    failure: Failure,
    remaining: u32,
}

/// The fault queue (first in, first out) and the call counters.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: VecDeque<Scripted>,
    calls: HashMap<Endpoint, u32>,
}

impl Faults {
    pub(crate) fn script(&mut self, endpoint: Endpoint, failure: Failure, times: u32) {
        if times > 0 {
            self.queue.push_back(Scripted {
                endpoint,
                failure,
                remaining: times,
            });
        }
    }

    pub(crate) fn calls(&self, endpoint: Endpoint) -> u32 {
        match endpoint {
            Endpoint::Any => self.calls.values().copied().fold(0, u32::saturating_add),
            e => self.calls.get(&e).copied().unwrap_or(0),
        }
    }

    /// Counts a call and takes the fault it must suffer, if one is scripted.
    fn on_call(&mut self, endpoint: Endpoint) -> Option<Failure> {
        let count = self.calls.entry(endpoint).or_insert(0);
        *count = count.saturating_add(1);
        let pos = self
            .queue
            .iter()
            .position(|s| s.endpoint == endpoint || s.endpoint == Endpoint::Any)?;
        let scripted = self.queue.get_mut(pos)?;
        scripted.remaining -= 1;
        let failure = scripted.failure.clone();
        if scripted.remaining == 0 {
            self.queue.remove(pos);
        }
        Some(failure)
    }
}

/// Middleware wrapped around each TikTok endpoint: counting, faults and the request log line.
/// The log line names the endpoint, never the path or query (they may carry codes).
pub(crate) async fn endpoint_layer(
    State((app, endpoint)): State<(AppState, Endpoint)>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let log_id = req
        .extensions()
        .get::<LogId>()
        .map(|l| l.0.clone())
        .unwrap_or_default();
    let (failure, latency) = app.with(|s| {
        let latency = match endpoint {
            Endpoint::Authorize => Duration::ZERO,
            _ => s.config.latency,
        };
        (s.faults.on_call(endpoint), latency)
    });
    // Half on the way in, half on the way out, like a network round trip. Never under the lock.
    let inbound = latency / 2;
    if !inbound.is_zero() {
        tokio::time::sleep(inbound).await;
    }
    let response = match &failure {
        None => next.run(req).await,
        Some(Failure::Timeout(delay)) => {
            // Effect first, silence after: a client that gives up (and drops the connection)
            // cannot cancel what the handler already did.
            let response = next.run(req).await;
            tokio::time::sleep(*delay).await;
            response
        }
        Some(Failure::ConnectionReset) => {
            if let Some(ConnectInfo(conn)) = req.extensions().get::<ConnectInfo<ConnHandle>>() {
                conn.reset();
            }
            // Never written: the connection fails on the first write.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(other) => render(endpoint, other, &log_id),
    };
    let outbound = latency.saturating_sub(inbound);
    if !outbound.is_zero() {
        tokio::time::sleep(outbound).await;
    }
    tracing::info!(
        endpoint = endpoint.as_str(),
        method = %method,
        status = response.status().as_u16(),
        outcome = response.extensions().get::<Outcome>().map(|o| o.0.as_str()),
        fault = failure.as_ref().map(Failure::name),
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn render(endpoint: Endpoint, failure: &Failure, log_id: &str) -> Response {
    let kind = endpoint.kind();
    match failure {
        Failure::Status429 => match kind {
            Kind::Page => html(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_PAGE),
            Kind::OAuth => oauth_error_body(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "Rate limit exceeded. Please try again later.",
                log_id,
            ),
            Kind::Api => envelope_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "API rate limit exceeded, please retry later.",
                log_id,
            ),
        },
        Failure::Status500 => match kind {
            Kind::Page => html(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR_PAGE),
            Kind::OAuth => oauth_error_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Internal server error.",
                log_id,
            ),
            Kind::Api => envelope_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong. Please try again later.",
                log_id,
            ),
        },
        Failure::Html502 => html(StatusCode::BAD_GATEWAY, BAD_GATEWAY_PAGE),
        Failure::OAuthError200 { error, description } => {
            oauth_error_body(StatusCode::OK, error, description, log_id)
        }
        Failure::ApiError {
            status,
            code,
            message,
        } => envelope_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
            log_id,
        ),
        Failure::MalformedJson => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"data\":{{\"user\":{{\"open_id\":\"723f24d7-e7\"}}}},\"error\":{{\"code\":\"ok\",\"log_id\":\"{log_id}"),
        )
            .into_response(),
        // Handled by the caller; kept total for safety.
        Failure::Timeout(_) | Failure::ConnectionReset => {
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

const BAD_GATEWAY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n";

const TOO_MANY_PAGE: &str = "<!DOCTYPE html><html><head><title>TikTok</title></head><body><h1>Too many attempts</h1><p>You are visiting too frequently. Please try again later.</p></body></html>";

const SERVER_ERROR_PAGE: &str = "<!DOCTYPE html><html><head><title>TikTok</title></head><body><h1>Something went wrong</h1><p>Sorry, something went wrong. Please try again later.</p></body></html>";
