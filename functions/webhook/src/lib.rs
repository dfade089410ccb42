//! `POST /tiktok/webhook`: TikTok's events, verified by `TikTok-Signature` (no app JWT). The
//! logic is `shared::webhook`.

use lambda_http::{Body, Request, Response};
use shared::clock::Clock;
use shared::store::{AccountStore, PublishStore};
use shared::webhook::WebhookApi;

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
