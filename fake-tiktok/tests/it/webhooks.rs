//! The webhook sender, against a tiny receiver: signature, duplicates, retries, events.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fake_tiktok::{FakeConfig, WebhookDelivery};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::*;

/// What the receiver got: the signature header and the raw body of every request.
#[derive(Default)]
struct Inbox {
    received: Vec<(String, Bytes)>,
    /// Statuses to answer with, in order; 200 once empty.
    script: VecDeque<StatusCode>,
}

type Shared = Arc<Mutex<Inbox>>;

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
async fn receiver(script: &[StatusCode]) -> (String, Shared) {
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
async fn wait_for(inbox: &Shared, n: usize) -> Vec<(String, Bytes)> {
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
fn verify(signature: &str, body: &[u8]) {
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

fn event_of(body: &[u8]) -> (Value, Value) {
    let outer: Value = serde_json::from_slice(body).expect("json body");
    let content: Value =
        serde_json::from_str(outer["content"].as_str().expect("content is a JSON string"))
            .expect("content JSON");
    (outer, content)
}

async fn env_hooked(script: &[StatusCode]) -> (Env, Shared) {
    let (url, inbox) = receiver(script).await;
    let env = env_with(FakeConfig {
        webhook_url: Some(url),
        ..FakeConfig::default()
    })
    .await;
    (env, inbox)
}

#[tokio::test]
async fn revoke_sends_a_signed_duplicated_event_retried_after_a_500() {
    let (env, inbox) = env_hooked(&[StatusCode::INTERNAL_SERVER_ERROR]).await;
    let tokens = env.login("user.info.basic").await;
    let (status, _) = env.revoke(s(&tokens, "access_token")).await;
    assert_eq!(status, StatusCode::OK);

    // 500, retry 200, then the deliberate duplicate.
    let received = wait_for(&inbox, 3).await;
    assert_eq!(received.len(), 3);
    for (signature, body) in &received {
        verify(signature, body);
        assert_eq!(body, &received[0].1, "identical bodies");
    }
    let (outer, content) = event_of(&received[0].1);
    assert_eq!(outer["client_key"], "fake_client_key");
    assert_eq!(outer["event"], "authorization.removed");
    assert_eq!(outer["user_openid"], ALICE);
    assert!(outer["create_time"].is_i64());
    assert_eq!(outer.as_object().map(|o| o.len()), Some(5));
    assert_eq!(content, json!({"reason": 5}));
    let raw = String::from_utf8(received[0].1.to_vec()).expect("utf8");
    assert!(
        raw.starts_with("{\"client_key\":") && raw.contains("\"content\":\"{"),
        "{raw}"
    );

    let deliveries = env.fake.webhook_deliveries();
    let summary: Vec<(u32, Option<u16>)> =
        deliveries.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(
        summary,
        vec![(1, Some(500)), (2, Some(200)), (1, Some(200))]
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.event == "authorization.removed" && d.open_id == ALICE)
    );
}

#[tokio::test]
async fn publish_events_follow_the_fake_clock() {
    let (env, inbox) = env_hooked(&[]).await;
    let token = posting_token(&env, ALICE);
    let (status, body) = env
        .api(
            "/v2/post/publish/video/init/",
            &token,
            json!({
                "post_info": { "privacy_level": "PUBLIC_TO_EVERYONE" },
                "source_info": { "source": "PULL_FROM_URL", "video_url": "https://media.example.com/a.mp4" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = s(&body["data"], "publish_id").to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        inbox.lock().expect("lock").received.is_empty(),
        "still processing"
    );

    // Nobody asks for the status: the fake's own ticker notices.
    env.fake.advance_clock(5);
    let received = wait_for(&inbox, 4).await;
    assert_eq!(received.len(), 4, "two events, each twice");
    let mut events: Vec<(String, Value)> = received
        .iter()
        .map(|(sig, body)| {
            verify(sig, body);
            let (outer, content) = event_of(body);
            (s(&outer, "event").to_owned(), content)
        })
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.dedup_by(|a, b| a == b);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, "post.publish.complete");
    assert_eq!(
        events[0].1,
        json!({"publish_id": id, "publish_type": "DIRECT_PUBLISH"})
    );
    assert_eq!(events[1].0, "post.publish.publicly_available");
    assert_eq!(events[1].1["publish_id"], id.as_str());
    assert_eq!(events[1].1["publish_type"], "DIRECT_PUBLISH");
    let post_id = events[1].1["post_id"].as_u64().expect("a JSON number");
    assert!(post_id > 1 << 53);
}

#[tokio::test]
async fn failures_inbox_and_removal_events_over_the_control_api() {
    let (url, inbox) = receiver(&[]).await;
    let env = env().await;
    // No URL: nothing is sent or recorded.
    env.fake.send_webhook("test.event", ALICE, json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(env.fake.webhook_deliveries().is_empty());

    let (status, _) = env
        .post_control("/_fake/webhook", json!({"url": url, "duplicates": 0}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = posting_token(&env, ALICE);
    let (_, body) = env
        .api(
            "/v2/post/publish/inbox/video/init/",
            &token,
            json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": "https://media.example.com/b.mp4" } }),
        )
        .await;
    let share = s(&body["data"], "publish_id").to_owned();
    env.post_control("/_fake/clock", json!({"advance_secs": 5}))
        .await;
    let received = wait_for(&inbox, 1).await;
    let (outer, content) = event_of(&received[0].1);
    assert_eq!(outer["event"], "post.publish.inbox_delivered");
    assert_eq!(
        content,
        json!({"publish_id": share, "publish_type": "INBOX_SHARE"})
    );

    assert!(env.fake.complete_inbox_share(&share));
    let received = wait_for(&inbox, 2).await;
    assert_eq!(event_of(&received[1].1).0["event"], "post.publish.complete");

    let (_, body) = env
        .api(
            "/v2/post/publish/inbox/video/init/",
            &token,
            json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": "https://media.example.com/c.mp4" } }),
        )
        .await;
    let failing = s(&body["data"], "publish_id").to_owned();
    env.post_control(
        &format!("/_fake/publishes/{failing}/fail"),
        json!({"reason": "spam_risk_text"}),
    )
    .await;
    let received = wait_for(&inbox, 3).await;
    let (outer, content) = event_of(&received[2].1);
    assert_eq!(outer["event"], "post.publish.failed");
    assert_eq!(
        content,
        json!({"publish_id": failing, "reason": "spam_risk_text", "publish_type": "INBOX_SHARE"})
    );

    // The user removes the app: reason 1. An arbitrary event over HTTP.
    env.post_control("/_fake/users/open-alice-0001/revoke", json!({}))
        .await;
    let (status, _) = env
        .post_control(
            "/_fake/webhook/send",
            json!({"event": "portability.download.ready", "open_id": BOB, "content": {"request_id": 123}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let received = wait_for(&inbox, 5).await;
    let mut tail: Vec<(Value, Value)> = received[3..].iter().map(|(_, b)| event_of(b)).collect();
    tail.sort_by_key(|(outer, _)| outer["event"].as_str().map(str::to_owned));
    assert_eq!(tail[0].0["event"], "authorization.removed");
    assert_eq!(tail[0].1, json!({"reason": 1}));
    assert_eq!(tail[1].0["event"], "portability.download.ready");
    assert_eq!(tail[1].0["user_openid"], BOB);
    assert_eq!(tail[1].1, json!({"request_id": 123}));

    let listed = env.get_control("/_fake/webhook/deliveries").await;
    let listed = listed["deliveries"].as_array().expect("list").clone();
    assert_eq!(listed.len(), 5);
    assert!(
        listed
            .iter()
            .all(|d| d["status"] == 200 && d["attempt"] == 1)
    );

    // Off again.
    env.post_control("/_fake/webhook", json!({"url": null}))
        .await;
    env.fake.send_webhook("test.event", ALICE, json!({}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.fake.webhook_deliveries().len(), 5);
}

#[tokio::test]
async fn unreachable_receiver_is_retried_then_given_up() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}/hook", listener.local_addr().expect("addr"));
    drop(listener);
    let env = env_with(FakeConfig {
        webhook_url: Some(dead),
        webhook_duplicates: 0,
        webhook_max_attempts: 3,
        webhook_backoff: Duration::from_millis(20),
        ..FakeConfig::default()
    })
    .await;
    env.fake.send_webhook("test.event", ALICE, json!({"x": 1}));
    let started = Instant::now();
    while env.fake.webhook_deliveries().len() < 3 && started.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = env.fake.webhook_deliveries();
    assert_eq!(
        deliveries,
        (1..=3)
            .map(|attempt| WebhookDelivery {
                event: "test.event".into(),
                open_id: ALICE.into(),
                attempt,
                status: None,
            })
            .collect::<Vec<_>>()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(env.fake.webhook_deliveries().len(), 3, "gave up");
}
