//! `GET /tiktok/publish/creator-info[?open_id=]`, `POST /tiktok/publish` (with an optional
//! `Idempotency-Key`) and `GET /tiktok/publish/{publish_id}[?cached=true]`: post a video to
//! TikTok and follow it. The logic is `connect_services::publish`.

use connect_domain::cipher::TokenCipher;
use connect_domain::clock::Clock;
use connect_domain::store::{AccountStore, PublishStore};
use connect_domain::tiktok::TikTokApi;
use connect_services::publish::PublishApi;
use lambda_http::{Body, Request, Response};

pub async fn handle<A, C, T, K, P>(
    api: &PublishApi<A, C, T, K, P>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    A: AccountStore,
    C: TokenCipher,
    T: TikTokApi,
    K: Clock,
    P: PublishStore,
{
    Ok(api.respond(&request).await)
}
