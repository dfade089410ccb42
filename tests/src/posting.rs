//! Posting and webhooks the way an app (and TikTok) would: JSON POSTs with the app JWT, chunk
//! PUTs straight to TikTok's `upload_url`, signed webhook deliveries, and a small HTTP server
//! standing in for API Gateway so the fake TikTok's webhook sender can reach the function.

use std::net::{Ipv4Addr, SocketAddr};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac as _};
use lambda_http::{Body, Response};
use serde_json::Value;
use sha2::Sha256;

use crate::flow::api_event_with_body;
use crate::stack::{Stack, TestWebhookApi};

/// `TikTok-Signature` for `body` at `t`, signed with `secret`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},s={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook body as TikTok sends it (`content` a JSON string), created now.
pub fn webhook_body(event: &str, open_id: &str, content: &Value) -> String {
    webhook_body_at(
        event,
        open_id,
        content,
        connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock),
    )
}

/// A webhook body as TikTok sends it, created at `create_time` (Unix seconds).
pub fn webhook_body_at(event: &str, open_id: &str, content: &Value, create_time: i64) -> String {
    serde_json::json!({
        "client_key": "fake_client_key",
        "event": event,
        "create_time": create_time,
        "user_openid": open_id,
        "content": content.to_string(),
    })
    .to_string()
}

impl Stack {
    /// `POST /tiktok/publish` as `app_user` with `body`, and an `Idempotency-Key` if given.
    pub async fn post_publish(
        &self,
        app_user: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Response<Body> {
        let bearer = format!("Bearer {}", self.jwt(app_user));
        let mut headers = vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        if let Some(key) = idempotency_key {
            headers.push(("idempotency-key", key));
        }
        self.send_body(
            "POST",
            "/tiktok/publish",
            "",
            &headers,
            Some(&body.to_string()),
        )
        .await
    }

    /// `GET /tiktok/publish/<tail>?<raw_query>` as `app_user` (`creator-info` or a publish id).
    pub async fn get_publish(&self, app_user: &str, tail: &str, raw_query: &str) -> Response<Body> {
        let bearer = format!("Bearer {}", self.jwt(app_user));
        self.send(
            "GET",
            &format!("/tiktok/publish/{tail}"),
            raw_query,
            &[("authorization", &bearer)],
        )
        .await
    }

    /// `GET /tiktok/publish?<raw_query>` as `app_user`: the listing.
    pub async fn list_publish(&self, app_user: &str, raw_query: &str) -> Response<Body> {
        let bearer = format!("Bearer {}", self.jwt(app_user));
        self.send(
            "GET",
            "/tiktok/publish",
            raw_query,
            &[("authorization", &bearer)],
        )
        .await
    }

    /// `DELETE /tiktok/publish/<publish_id>` as `app_user`: cancels a scheduled post.
    pub async fn cancel_publish(&self, app_user: &str, publish_id: &str) -> Response<Body> {
        let bearer = format!("Bearer {}", self.jwt(app_user));
        self.send(
            "DELETE",
            &format!("/tiktok/publish/{publish_id}"),
            "",
            &[("authorization", &bearer)],
        )
        .await
    }

    /// One delivery of a schedule to the `scheduled-post` function, with `input` as its payload
    /// (what EventBridge Scheduler sends: the schedule's `Input`); the handler's answer or its
    /// error message.
    pub async fn deliver_schedule(&self, input: Value) -> Result<Value, String> {
        let event = lambda_runtime::LambdaEvent::new(input, lambda_runtime::Context::default());
        scheduled_post::handle(&self.scheduled_post, event)
            .await
            .map(|report| serde_json::to_value(report).expect("report serializes"))
            .map_err(|e| e.to_string())
    }

    /// The schedules in this stack's group in moto: `(name, expression, input)` each.
    pub async fn schedules(&self) -> Vec<(String, String, Value)> {
        let listed = self
            .aws
            .scheduler
            .list_schedules()
            .group_name(&self.schedule_group)
            .send()
            .await
            .expect("ListSchedules");
        let mut found = Vec::new();
        for summary in listed.schedules() {
            let name = summary.name().unwrap_or_default().to_owned();
            let schedule = self
                .aws
                .scheduler
                .get_schedule()
                .group_name(&self.schedule_group)
                .name(&name)
                .send()
                .await
                .expect("GetSchedule");
            let input = schedule
                .target()
                .and_then(|t| t.input())
                .and_then(|i| serde_json::from_str(i).ok())
                .unwrap_or(Value::Null);
            found.push((
                name,
                schedule
                    .schedule_expression()
                    .unwrap_or_default()
                    .to_owned(),
                input,
            ));
        }
        found
    }

    /// A webhook delivery with the given signature header (none if `None`).
    pub async fn deliver_webhook(&self, body: &str, signature: Option<&str>) -> Response<Body> {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(signature) = signature {
            headers.push(("tiktok-signature", signature));
        }
        self.send_body("POST", "/tiktok/webhook", "", &headers, Some(body))
            .await
    }

    /// A correctly signed delivery, signed now.
    pub async fn deliver_signed(&self, body: &str) -> Response<Body> {
        let now = connect_domain::clock::Clock::now(&self.clock);
        let signature = signature(&self.client_secret, now, body);
        self.deliver_webhook(body, Some(&signature)).await
    }

    /// Serves the webhook function over HTTP on a free port (as API Gateway would) and returns
    /// its URL, for the fake TikTok's webhook sender.
    pub async fn serve_webhook(&self) -> String {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind");
        let url = format!(
            "http://{}/tiktok/webhook",
            listener.local_addr().expect("addr")
        );
        let app = axum::Router::new()
            .route("/tiktok/webhook", axum::routing::post(forward))
            .with_state(self.webhook.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    }
}

async fn forward(
    State(api): State<std::sync::Arc<TestWebhookApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let borrowed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = String::from_utf8_lossy(&body).into_owned();
    let event = api_event_with_body("POST", "/tiktok/webhook", "", &borrowed, Some(&body));
    let response = webhook::handle(api.as_ref(), event)
        .await
        .expect("handler answers");
    let text = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (
        StatusCode::from_u16(response.status().as_u16())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        text,
    )
}
