//! The HTTP plumbing every app-user function shares: who is calling, the query, the time budget,
//! and turning a result into a response. Handlers stay a few lines long.

use std::time::Duration;

use lambda_http::http::header::AUTHORIZATION;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use tokio::time::Instant;

use crate::api_error::ApiError;
use crate::jwt::JwtVerifier;
use crate::response;
use connect_domain::app_user::AppUser;
use connect_domain::error::ServiceError;
use connect_domain::ports::Ports;
use connect_domain::query::Query;
use connect_domain::refresh::TokenKeeper;

/// Time a request may spend on TikTok and AWS, waits and retries included. The functions'
/// timeout (28 s in the template; API Gateway gives up at 30 s) leaves room for the AWS calls that
/// may still run after it (the arithmetic in `connect_domain::budget`).
pub const REQUEST_BUDGET: Duration = Duration::from_secs(24);

/// When the current request must stop starting new work.
pub fn deadline() -> Instant {
    Instant::now() + REQUEST_BUDGET
}

/// The app user named by the `Authorization: Bearer <JWT>` header.
pub fn app_user(jwt: &JwtVerifier, request: &Request) -> Result<AppUser, ApiError> {
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    jwt.verify_header(authorization)
        .ok_or(ApiError::Unauthorized)
}

/// The API's public origin as API Gateway received the request (`requestContext.domainName`).
pub fn api_origin(request: &Request) -> Option<connect_domain::api_origin::ApiOrigin> {
    use lambda_http::RequestExt as _;
    use lambda_http::request::RequestContext;
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context
            .domain_name
            .as_deref()
            .and_then(connect_domain::api_origin::ApiOrigin::from_domain),
        _ => None,
    }
}

/// The decoded query string.
pub fn query(request: &Request) -> Result<Query, ApiError> {
    Query::parse(request.uri().query()).map_err(|e| ApiError::invalid_request(e.message()))
}

/// The raw path's non-empty segments, still percent-encoded: how a function routes under
/// `cargo lambda watch`, which has no API Gateway routes and so no path parameters.
pub fn path_segments(raw_path: &str) -> Vec<&str> {
    raw_path.split('/').filter(|s| !s.is_empty()).collect()
}

/// A path segment that carries an id, percent-decoded once; `what` names it in the 400.
pub fn decode_segment(raw: &str, what: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|value| value.into_owned())
        .map_err(|_| ApiError::invalid_request(format!("{what} is not valid UTF-8")))
}

/// The response for a handler's result: errors become their JSON error response.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|error| error.to_response())
}

/// What the functions acting for an app user build once per cold start.
pub struct UserApi<P: Ports> {
    /// The accounts, the token refreshes and the TikTok client every call for the user goes
    /// through.
    pub keeper: TokenKeeper<P>,
    /// Checks the `Authorization: Bearer` app JWT that names the calling app user.
    pub jwt: JwtVerifier,
}

/// What a function's handler answers Lambda with.
pub type Answer = Result<Response<Body>, lambda_http::Error>;

impl<P: Ports> UserApi<P> {
    /// A read-only route over the caller's tokens (`GET /tiktok/me`, `GET /tiktok/videos`):
    /// checks the method and the JWT, parses the query, and answers what `use_case` (given the
    /// token keeper, the caller, the query and the request's deadline) returns as `200` JSON, or
    /// its error as the error response.
    pub async fn read<R, UseCase>(&self, request: Request, use_case: UseCase) -> Answer
    where
        R: Serialize,
        UseCase: AsyncFn(&TokenKeeper<P>, &AppUser, &Query, Instant) -> Result<R, ServiceError>,
    {
        let result = async {
            if request.method() != Method::GET {
                return Err(ApiError::MethodNotAllowed("GET"));
            }
            let user = app_user(&self.jwt, &request)?;
            let query = query(&request)?;
            let body = use_case(&self.keeper, &user, &query, deadline()).await?;
            Ok(response::json(StatusCode::OK, &body))
        };
        Ok(respond(result.await))
    }
}
