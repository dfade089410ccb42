//! `GET /tiktok/publish/creator-info[?open_id=]`, `POST /tiktok/publish` (with an optional
//! `Idempotency-Key`) and `GET /tiktok/publish/{publish_id}[?cached=true]`: post a video to
//! TikTok and follow it. The logic is `shared::publish`.

use lambda_http::{Body, Request, Response};
use shared::cipher::TokenCipher;
use shared::clock::Clock;
use shared::publish::PublishApi;
use shared::store::{AccountStore, PublishStore};
use shared::tiktok::TikTokApi;

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
