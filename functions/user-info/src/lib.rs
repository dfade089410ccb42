//! `GET /tiktok/me[?open_id=]`: the connected TikTok profile, tokens refreshed as needed.

use lambda_http::{Body, Request, Response};
use shared::cipher::TokenCipher;
use shared::clock::Clock;
use shared::handler::{UserApi, deadline};
use shared::store::AccountStore;
use shared::tiktok::TikTokApi;

pub async fn handle<A, C, T, K>(
    api: &UserApi<A, C, T, K>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    A: AccountStore,
    C: TokenCipher,
    T: TikTokApi,
    K: Clock,
{
    let answer = api.get_json(&request, |user, query| async move {
        shared::profile::me(&api.keeper, &user, &query, deadline()).await
    });
    Ok(answer.await)
}
