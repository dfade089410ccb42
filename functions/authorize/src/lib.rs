//! `GET /tiktok/authorize`: verifies the app user and answers with TikTok's authorize URL.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use shared::api_error::ApiError;
use shared::app_user::JwtVerifier;
use shared::cipher::{KmsCipher, TokenCipher};
use shared::clock::{Clock, SystemClock};
use shared::connect::{AuthorizeService, ConnectSettings};
use shared::query::Query;
use shared::runtime::ColdStart;
use shared::store::{DynamoStateStore, StateStore};

/// What the handler needs, built once per cold start.
pub struct App<S, C, K> {
    pub service: AuthorizeService<S, C, K>,
    pub jwt: JwtVerifier,
}

/// The production wiring: DynamoDB states, KMS for the PKCE verifier, the system clock.
pub type LiveApp = App<DynamoStateStore, KmsCipher, SystemClock>;

impl<K: Clock> App<DynamoStateStore, KmsCipher, K> {
    /// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
    pub fn wire(cold: &ColdStart, clock: K) -> Self {
        let config = &cold.config;
        Self {
            service: AuthorizeService {
                states: DynamoStateStore::new(cold.aws.dynamodb.clone(), &config.table_name),
                cipher: KmsCipher::new(cold.aws.kms.clone(), &config.kms_key_id),
                clock,
                settings: ConnectSettings::from(config),
            },
            jwt: JwtVerifier::new(
                &cold.secrets.app_jwt_secret,
                config.jwt_issuer.as_deref(),
                config.jwt_audience.as_deref(),
            ),
        }
    }
}

pub async fn handle<S: StateStore, C: TokenCipher, K: Clock>(
    app: &App<S, C, K>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    Ok(match respond(app, &request).await {
        Ok(response) => response,
        Err(error) => error.to_response(),
    })
}

async fn respond<S: StateStore, C: TokenCipher, K: Clock>(
    app: &App<S, C, K>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let authorization = request
        .headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let user = app
        .jwt
        .verify_header(authorization)
        .ok_or(ApiError::Unauthorized)?;
    let query =
        Query::parse(request.uri().query()).map_err(|e| ApiError::InvalidRequest(e.message()))?;
    let start = app.service.start(&user, &query).await?;
    Ok(shared::response::json(
        lambda_http::http::StatusCode::OK,
        &start,
    ))
}
