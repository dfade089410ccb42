//! `GET /tiktok/callback`: TikTok's redirect lands here; the browser is always sent back to the app.

use connect_domain::clock::{Clock, SystemClock};
use connect_domain::ports::ConnectPorts;
use connect_http::api_error::ApiError;
use connect_runtime::cold_start::{ColdStart, LiveConnect, StartError};
use connect_services::connect::{CallbackService, ConnectSettings};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

/// The production wiring.
pub type LiveApp = CallbackService<LiveConnect<SystemClock>>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(
    cold: &ColdStart,
    clock: K,
) -> Result<CallbackService<LiveConnect<K>>, StartError> {
    Ok(CallbackService {
        states: cold.states(),
        accounts: cold.accounts(),
        cipher: cold.cipher(),
        tiktok: cold.tiktok()?,
        clock,
        settings: ConnectSettings::from(&cold.config),
    })
}

/// Completes the connect and redirects the browser back to the app, whatever happened.
pub async fn handle<P: ConnectPorts>(
    app: &CallbackService<P>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    if request.method() != Method::GET {
        return Ok(ApiError::MethodNotAllowed("GET").to_response());
    }
    // The raw query: `code` is decoded exactly once, by `Query::parse`.
    let origin = connect_http::handler::api_origin(&request);
    let location = app.complete(request.uri().query(), origin.as_ref()).await;
    Ok(connect_http::response::redirect(&location))
}
