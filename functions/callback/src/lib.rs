//! `GET /tiktok/callback`: TikTok's redirect lands here; the browser is always sent back to the app.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::api_error::ApiError;
use shared::cipher::{KmsCipher, TokenCipher};
use shared::clock::{Clock, SystemClock};
use shared::connect::{CallbackService, ConnectSettings};
use shared::runtime::{ColdStart, StartError};
use shared::store::{AccountStore, DynamoAccountStore, DynamoStateStore, StateStore};
use shared::tiktok::{TikTokApi, TikTokHttp, TikTokHttpConfig};

/// The production wiring.
pub type LiveApp =
    CallbackService<DynamoStateStore, DynamoAccountStore, KmsCipher, TikTokHttp, SystemClock>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(
    cold: &ColdStart,
    clock: K,
) -> Result<
    CallbackService<DynamoStateStore, DynamoAccountStore, KmsCipher, TikTokHttp, K>,
    StartError,
> {
    let config = &cold.config;
    let tiktok = TikTokHttp::new(TikTokHttpConfig {
        api_url: config.api_url.clone(),
        client_key: config.tiktok_client_key.clone(),
        client_secret: cold.secrets.tiktok_client_secret.clone(),
        redirect_uri: config.redirect_uri.clone(),
    })
    .map_err(|e| StartError::HttpClient(e.to_string()))?;
    Ok(CallbackService {
        states: DynamoStateStore::new(cold.aws.dynamodb.clone(), &config.table_name),
        accounts: DynamoAccountStore::new(cold.aws.dynamodb.clone(), &config.table_name),
        cipher: KmsCipher::new(cold.aws.kms.clone(), &config.kms_key_id),
        tiktok,
        clock,
        settings: ConnectSettings::from(config),
    })
}

pub async fn handle<S, A, C, T, K>(
    app: &CallbackService<S, A, C, T, K>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    S: StateStore,
    A: AccountStore,
    C: TokenCipher,
    T: TikTokApi,
    K: Clock,
{
    if request.method() != Method::GET {
        return Ok(ApiError::MethodNotAllowed.to_response());
    }
    // The raw query: `code` is decoded exactly once, by `Query::parse`.
    let location = app.complete(request.uri().query()).await;
    Ok(shared::response::redirect(&location))
}
