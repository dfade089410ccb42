//! `POST /tiktok/webhook`: TikTok's events, verified by `TikTok-Signature` (no app JWT). The
//! logic is `connect_services::webhook`.

use connect_domain::clock::Clock;
use connect_domain::store::{AccountStore, PublishStore};
use connect_services::webhook::WebhookApi;
use lambda_http::{Body, Request, Response};

pub async fn handle<A, P, K>(
    api: &WebhookApi<A, P, K>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    A: AccountStore,
    P: PublishStore,
    K: Clock,
{
    Ok(api.respond(&request).await)
}
