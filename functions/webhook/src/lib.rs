//! `POST /tiktok/webhook`: TikTok's events, verified by `TikTok-Signature` (no app JWT). This
//! crate checks the request and wires; the rules are `connect_services::webhook`.

use connect_adapters::{DynamoAccountStore, DynamoPublishStore, EventBridgeEvents};
use connect_domain::clock::Clock;
use connect_domain::events::EventSink;
use connect_domain::secret::ClientSecret;
use connect_domain::store::{PublishStore, Revocations, ScheduleStore};
use connect_http::api_error::ApiError;
use connect_http::{handler, response};
use connect_runtime::cold_start::{ColdStart, StartError};
use connect_services::webhook::{MAX_BODY_BYTES, Outcome, receive, verify_signature};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

/// The function over the real adapters.
pub type LiveWebhookApi<K> =
    WebhookApi<DynamoAccountStore, DynamoPublishStore, K, EventBridgeEvents>;

/// Wires the real adapters; `clock` is `SystemClock` in production (tests move time).
pub fn wire<K: Clock>(cold: &ColdStart, clock: K) -> Result<LiveWebhookApi<K>, StartError> {
    Ok(WebhookApi {
        accounts: cold.accounts(),
        store: cold.publishes(),
        client_key: cold.config.tiktok_client_key.clone(),
        client_secret: cold.secrets.client_secret()?.clone(),
        clock,
        events: cold.events(),
    })
}

/// What the `webhook` function builds once per cold start.
pub struct WebhookApi<A, P, K, E> {
    pub accounts: A,
    pub store: P,
    pub client_key: String,
    pub client_secret: ClientSecret,
    pub clock: K,
    /// Where revocations and status moves are announced to the app.
    pub events: E,
}

impl<A, P, K, E> WebhookApi<A, P, K, E>
where
    A: Revocations,
    P: PublishStore + ScheduleStore,
    K: Clock,
    E: EventSink,
{
    /// `POST /tiktok/webhook`: 200 `{"ok":true}` (with `"duplicate":true` for a repeat) once
    /// the event is verified and handled; 401 for a bad signature, 400 for a bad body.
    pub async fn respond(&self, request: &Request) -> Response<Body> {
        handler::respond(self.route(request).await)
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed("POST"));
        }
        let body: &[u8] = request.body();
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::invalid_request(format!(
                "the body must be at most {MAX_BODY_BYTES} bytes"
            )));
        }
        let now = self.clock.now();
        // Header names are case-insensitive in HTTP (TikTok's docs spell it two ways).
        let signature = request
            .headers()
            .get("tiktok-signature")
            .map(|v| v.as_bytes());
        verify_signature(signature, body, &self.client_secret, now)?;
        let outcome = receive(
            &self.accounts,
            &self.store,
            &self.events,
            &self.client_key,
            body,
            now,
        )
        .await?;
        let answer = match outcome {
            Outcome::Duplicate => serde_json::json!({ "ok": true, "duplicate": true }),
            Outcome::Processed(_) | Outcome::Ignored(_) => serde_json::json!({ "ok": true }),
        };
        Ok(response::json(StatusCode::OK, &answer))
    }
}

/// Answers one request (errors as their JSON response).
pub async fn handle<A, P, K, E>(
    api: &WebhookApi<A, P, K, E>,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error>
where
    A: Revocations,
    P: PublishStore + ScheduleStore,
    K: Clock,
    E: EventSink,
{
    Ok(api.respond(&request).await)
}
