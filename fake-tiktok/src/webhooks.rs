//! The webhook sender: TikTok's body and `TikTok-Signature`, retries with exponential backoff
//! and deliberate duplicates.
//!
//! Events are produced under the store's lock ([`Store::emit_webhook`]) and handed over a channel
//! to a dispatcher task, which spawns one delivery task per event; no lock is held across an
//! await. Each event is delivered `1 + webhook_duplicates` times, one copy after the other,
//! with an identical body and a fresh signature (new `t`) for every attempt. A copy is retried
//! after any non-200 answer or transport error, `webhook_backoff` × 2^(attempt−1) later, up to
//! `webhook_max_attempts` attempts. Events are not ordered across each other.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::clock::real_now;
use crate::state::{AppState, Store};

/// One delivery attempt of a webhook ([`crate::FakeTikTok::webhook_deliveries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub event: String,
    pub open_id: String,
    /// 1 for the first attempt of a copy, 2 for its first retry, … (each duplicate copy counts
    /// from 1 again).
    pub attempt: u32,
    /// The receiver's HTTP status; `None` for a transport error (refused, timed out, …).
    pub status: Option<u16>,
}

/// The JSON body, fields in TikTok's order.
#[derive(Serialize)]
struct Body<'a> {
    client_key: &'a str,
    event: &'a str,
    create_time: i64,
    user_openid: &'a str,
    /// A JSON document inside a string, as TikTok sends it.
    content: &'a str,
}

/// An event ready to go: everything the delivery needs, snapshotted when it was emitted.
struct Outgoing {
    url: String,
    secret: String,
    event: String,
    open_id: String,
    body: Vec<u8>,
    copies: u32,
    max_attempts: u32,
    backoff: Duration,
}

/// The sender's half in the store, and the record of every attempt.
#[derive(Default)]
pub(crate) struct Webhooks {
    tx: Option<UnboundedSender<Outgoing>>,
    deliveries: Vec<WebhookDelivery>,
}

impl Webhooks {
    pub(crate) fn deliveries(&self) -> &[WebhookDelivery] {
        &self.deliveries
    }
}

/// `hex(HMAC-SHA256(secret, "<t>.<body>"))`.
pub(crate) fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length; kept total anyway.
        Err(_) => return String::new(),
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Store {
    /// Queues `event` for `open_id` if a webhook URL is configured (otherwise it is dropped and
    /// not recorded). `create_time` is the fake clock's now.
    pub(crate) fn emit_webhook(&mut self, event: &str, open_id: &str, content: &Value) {
        let (Some(url), Some(tx)) = (self.config.webhook_url.clone(), self.webhooks.tx.as_ref())
        else {
            return;
        };
        let content = content.to_string();
        let body = Body {
            client_key: &self.config.client_key,
            event,
            create_time: self.clock.now(),
            user_openid: open_id,
            content: &content,
        };
        let Ok(body) = serde_json::to_vec(&body) else {
            return;
        };
        let outgoing = Outgoing {
            url,
            secret: self.config.client_secret.clone(),
            event: event.to_owned(),
            open_id: open_id.to_owned(),
            body,
            copies: self.config.webhook_duplicates.saturating_add(1),
            max_attempts: self.config.webhook_max_attempts.max(1),
            backoff: self.config.webhook_backoff,
        };
        if tx.send(outgoing).is_err() {
            tracing::warn!(event, "webhook dispatcher stopped; event dropped");
        }
    }
}

/// Wires the sender to `app` and starts the dispatcher on the current runtime.
pub(crate) fn start(app: &AppState) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no HTTP client: webhooks disabled");
            return;
        }
    };
    let (tx, rx) = unbounded_channel();
    app.with(|s| s.webhooks.tx = Some(tx));
    tokio::spawn(dispatch(app.clone(), client, rx));
}

async fn dispatch(app: AppState, client: reqwest::Client, mut rx: UnboundedReceiver<Outgoing>) {
    while let Some(outgoing) = rx.recv().await {
        tokio::spawn(deliver(app.clone(), client.clone(), outgoing));
    }
}

async fn deliver(app: AppState, client: reqwest::Client, out: Outgoing) {
    for _copy in 0..out.copies {
        for attempt in 1..=out.max_attempts {
            let t = real_now();
            let header = format!("t={t},s={}", signature(&out.secret, t, &out.body));
            let status = client
                .post(&out.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("TikTok-Signature", header)
                .body(out.body.clone())
                .send()
                .await
                .ok()
                .map(|r| r.status().as_u16());
            tracing::info!(
                event = out.event.as_str(),
                attempt,
                status,
                "webhook delivery"
            );
            app.with(|s| {
                s.webhooks.deliveries.push(WebhookDelivery {
                    event: out.event.clone(),
                    open_id: out.open_id.clone(),
                    attempt,
                    status,
                });
            });
            if status == Some(200) {
                break;
            }
            if attempt < out.max_attempts {
                let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
                tokio::time::sleep(out.backoff.saturating_mul(factor)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_tiktok_recipe() {
        // Independent recomputation of hex(HMAC_SHA256(secret, "t.body")).
        let sig = signature("secret", 1_633_174_587, b"{\"a\":1}");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").expect("key");
        mac.update(b"1633174587.{\"a\":1}");
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        assert_eq!(sig.len(), 64);
    }
}
