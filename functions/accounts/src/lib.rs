//! `GET /tiktok/accounts` lists the app user's TikTok accounts; `DELETE /tiktok/accounts/{open_id}`
//! revokes one at TikTok and forgets it.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt as _, Response};
use shared::api_error::ApiError;
use shared::cipher::TokenCipher;
use shared::clock::Clock;
use shared::handler::{self, UserApi};
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
    Ok(handler::respond(respond(api, &request).await))
}

async fn respond<A, C, T, K>(
    api: &UserApi<A, C, T, K>,
    request: &Request,
) -> Result<Response<Body>, ApiError>
where
    A: AccountStore,
    C: TokenCipher,
    T: TikTokApi,
    K: Clock,
{
    let open_id = path_open_id(request)?;
    // The collection is listed, an account is disconnected; nothing else (RFC 9110 §15.5.6).
    match (request.method(), &open_id) {
        (&Method::GET, None) | (&Method::DELETE, Some(_)) => {}
        (_, None) => return Err(ApiError::MethodNotAllowed("GET")),
        (_, Some(_)) => return Err(ApiError::MethodNotAllowed("DELETE")),
    }
    let user = handler::app_user(&api.jwt, request)?;
    handler::query(request)?
        .only(&[])
        .map_err(ApiError::InvalidRequest)?;
    match open_id {
        None => {
            let list = shared::accounts::list(&api.keeper.accounts, &user).await?;
            Ok(shared::response::json(StatusCode::OK, &list))
        }
        Some(open_id) => {
            shared::accounts::disconnect(&api.keeper, &user, &open_id, handler::deadline()).await?;
            Ok(shared::response::no_content())
        }
    }
}

/// The `{open_id}` of `/tiktok/accounts/{open_id}`: API Gateway's path parameter, or else the
/// path segment after `accounts` (`cargo lambda watch` has no routes and passes `/{open_id}`).
fn path_open_id(request: &Request) -> Result<Option<String>, ApiError> {
    if let Some(open_id) = request.path_parameters().first("open_id") {
        return Ok(Some(open_id.to_owned()));
    }
    let path = request.raw_http_path();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The first `accounts` is the collection: an account may itself be called `accounts`.
    let rest = match segments.iter().position(|s| *s == "accounts") {
        Some(at) => &segments[at + 1..],
        None => &segments[..],
    };
    match rest {
        [] => Ok(None),
        [raw] => percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map(|v| Some(v.into_owned()))
            .map_err(|_| ApiError::InvalidRequest("open_id is not valid UTF-8".into())),
        _ => Err(ApiError::InvalidRequest(
            "the path must be /tiktok/accounts/{open_id}".into(),
        )),
    }
}
