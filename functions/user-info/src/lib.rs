//! `GET /tiktok/me[?open_id=]`: the connected TikTok profile, tokens refreshed as needed.

use connect_domain::clock::Clock;
use connect_domain::ports::Ports;
use connect_http::handler::{UserApi, deadline};
use connect_runtime::cold_start::{ColdStart, LiveUserApi, StartError};
use lambda_http::{Body, Request, Response};

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveUserApi<K>, StartError> {
    cold.user_api(clock)
}

/// Answers one request (errors as their JSON response).
pub async fn handle<P: Ports>(
    api: &UserApi<P>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let answer = api.get_json(&request, |user, query| async move {
        connect_services::profile::me(&api.keeper, &user, &query, deadline()).await
    });
    Ok(answer.await)
}
