//! `GET /tiktok/authorize`: verifies the app user and answers with TikTok's authorize URL.

use connect_domain::clock::{Clock, SystemClock};
use connect_domain::ports::ConnectPorts;
use connect_http::api_error::ApiError;
use connect_http::jwt::JwtVerifier;
use connect_runtime::cold_start::{ColdStart, LiveConnect, StartError};
use connect_services::connect::{AuthorizeService, ConnectSettings};
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

/// What the handler needs, built once per cold start.
pub struct App<P: ConnectPorts> {
    pub service: AuthorizeService<P>,
    pub jwt: JwtVerifier,
}

/// The production wiring: DynamoDB states, KMS for the PKCE verifier, the system clock.
pub type LiveApp = App<LiveConnect<SystemClock>>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<App<LiveConnect<K>>, StartError> {
    Ok(App {
        service: AuthorizeService {
            states: cold.states(),
            cipher: cold.cipher(),
            clock,
            settings: ConnectSettings::from(&cold.config),
        },
        jwt: cold.jwt_verifier()?,
    })
}

/// Answers one request (errors as their JSON response).
pub async fn handle<P: ConnectPorts>(
    app: &App<P>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(connect_http::handler::respond(respond(app, &request).await))
}

async fn respond<P: ConnectPorts>(
    app: &App<P>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed("GET"));
    }
    let user = connect_http::handler::app_user(&app.jwt, request)?;
    let query = connect_http::handler::query(request)?;
    let origin = connect_http::handler::api_origin(request);
    let start = app.service.start(&user, &query, origin.as_ref()).await?;
    Ok(connect_http::response::json(
        lambda_http::http::StatusCode::OK,
        &start,
    ))
}
