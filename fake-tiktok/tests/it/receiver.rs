//! A tiny webhook receiver on a free port, and the checks of what it got.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fake_tiktok::FakeConfig;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::common::*;

/// What the receiver got: the signature header and the raw body of every request.
#[derive(Default)]
pub struct Inbox {
    pub received: Vec<(String, Bytes)>,
    /// Statuses to answer with, in order; 200 once empty.
    script: VecDeque<StatusCode>,
}

pub type Shared = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("tiktok-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut inbox = inbox.lock().expect("lock");
    inbox.received.push((signature, body));
    inbox.script.pop_front().unwrap_or(StatusCode::OK)
}

/// A receiver on a free port; returns its URL and what it records.
pub async fn receiver(script: &[StatusCode]) -> (String, Shared) {
    let inbox: Shared = Arc::new(Mutex::new(Inbox {
        received: Vec::new(),
        script: script.iter().copied().collect(),
    }));
    let app = Router::new()
        .route("/tiktok/webhook", post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/tiktok/webhook"), inbox)
}

/// Waits (up to 3 s) until the receiver holds at least `n` requests; returns them.
pub async fn wait_for(inbox: &Shared, n: usize) -> Vec<(String, Bytes)> {
    let started = Instant::now();
    loop {
        let received = inbox.lock().expect("lock").received.clone();
        if received.len() >= n || started.elapsed() > Duration::from_secs(3) {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks `t=…,s=…` against HMAC-SHA256(client secret, "t.body") over the raw bytes.
pub fn verify(signature: &str, body: &[u8]) {
    let mut t = None;
    let mut s = None;
    for part in signature.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("s", v)) => s = Some(v.to_owned()),
            _ => {}
        }
    }
    let (t, s) = (t.expect("t="), s.expect("s="));
    let ts: i64 = t.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    assert!(
        (i64::try_from(now).expect("now") - ts).abs() < 60,
        "real wall clock"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"fake_client_secret").expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(s).expect("hex"))
        .expect("signature verifies");
}

pub fn event_of(body: &[u8]) -> (Value, Value) {
    let outer: Value = serde_json::from_slice(body).expect("json body");
    let content: Value =
        serde_json::from_str(outer["content"].as_str().expect("content is a JSON string"))
            .expect("content JSON");
    (outer, content)
}

pub async fn env_hooked(script: &[StatusCode]) -> (Env, Shared) {
    let (url, inbox) = receiver(script).await;
    let env = env_with(FakeConfig {
        webhook_url: Some(url),
        ..FakeConfig::default()
    })
    .await;
    (env, inbox)
}

/// A fake whose webhooks go to a new receiver that always answers 200, each event once (no
/// deliberate duplicate).
pub async fn env_hooked_once() -> (Env, Shared) {
    let (url, inbox) = receiver(&[]).await;
    let env = env_with(FakeConfig {
        webhook_url: Some(url),
        webhook_duplicates: 0,
        ..FakeConfig::default()
    })
    .await;
    (env, inbox)
}

/// The `content` of every event named `event` received so far, in arrival order; each
/// signature is checked.
pub fn contents_of(inbox: &Shared, event: &str) -> Vec<Value> {
    let received = inbox.lock().expect("lock").received.clone();
    received
        .iter()
        .filter_map(|(signature, body)| {
            verify(signature, body);
            let (outer, content) = event_of(body);
            (outer["event"] == event).then_some(content)
        })
        .collect()
}

/// Waits (up to 3 s) until `n` events named `event` arrived; returns their contents.
pub async fn wait_for_event(inbox: &Shared, event: &str, n: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let contents = contents_of(inbox, event);
        if contents.len() >= n || started.elapsed() > Duration::from_secs(3) {
            return contents;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
