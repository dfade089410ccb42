//! `GET /tiktok/me[?open_id=]`: the connected TikTok profile, tokens refreshed as needed.

use connect_domain::ports::Ports;
use connect_http::handler::{Answer, UserApi};

/// Wires the real adapters, as every function acting for an app user does.
pub use connect_runtime::cold_start::wire_user_api as wire;

/// Answers one request (errors as their JSON response).
pub async fn handle<P: Ports>(api: &UserApi<P>, request: lambda_http::Request) -> Answer {
    api.read(request, connect_services::profile::me).await
}
