//! The webhook sender, against a tiny receiver: signature, duplicates, retries, events.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use fake_tiktok::{FakeConfig, RemovalReason, WebhookDelivery};
use serde_json::{Value, json};

use crate::common::*;
use crate::receiver::*;

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

    // Nobody asks for the status: the fake's own ticker notices. The post id comes after
    // moderation (20 s by default).
    env.fake.advance_clock(5);
    assert_eq!(wait_for(&inbox, 2).await.len(), 2, "complete, twice");
    env.fake.advance_clock(20);
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

#[tokio::test]
async fn revoke_with_a_reason_sends_that_reason() {
    let (env, inbox) = env_hooked_once().await;
    let removed = "authorization.removed";
    // Banned: reason 4, over the control API; every grant dies.
    let tokens = env.login("user.info.basic").await;
    let (status, body) = env
        .post_control(
            "/_fake/users/open-alice-0001/revoke",
            json!({ "reason": 4 }),
        )
        .await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "ok": true })));
    assert_eq!(
        wait_for_event(&inbox, removed, 1).await,
        vec![json!({ "reason": 4 })]
    );
    assert_eq!(
        env.user_info(s(&tokens, "access_token"), "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");

    // Refused: 5 (only /v2/oauth/revoke/ sends it), out of range, not a number; nothing dies.
    let bob = env.fake.mint_grant(BOB, &["user.info.basic"]);
    for reason in [json!(5), json!(6), json!(-1), json!("4"), json!(1.5)] {
        let (status, body) = env
            .post_control(
                "/_fake/users/open-bob-0002/revoke",
                json!({ "reason": reason }),
            )
            .await;
        assert_eq!(
            (status, &body),
            (
                StatusCode::BAD_REQUEST,
                &json!({ "error": "invalid_reason" })
            ),
            "{reason}"
        );
    }
    assert_eq!(
        env.user_info(&bob.access_token, "open_id").await.0,
        StatusCode::OK
    );
    let (status, _) = env
        .post_control("/_fake/users/nobody/revoke", json!({ "reason": 2 }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // No body: reason 1, as before. From Rust: any reason but 5.
    let resp = env
        .http
        .post(env.url("/_fake/users/open-bob-0002/revoke"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), StatusCode::OK);
    env.fake.mint_grant(BOB, &["user.info.basic"]);
    env.fake
        .revoke_grants_with_reason(BOB, RemovalReason::AccountDeleted);
    env.fake.mint_grant(BOB, &["user.info.basic"]);
    env.fake.revoke_grants(BOB);
    // Events are not ordered across each other.
    let mut reasons: Vec<u64> = wait_for_event(&inbox, removed, 4)
        .await
        .iter()
        .filter_map(|c| c["reason"].as_u64())
        .collect();
    reasons.sort_unstable();
    assert_eq!(reasons, [1, 1, 2, 4]);
    assert_eq!(
        [0, 1, 2, 3, 4, 5].map(RemovalReason::from_code),
        [
            Some(RemovalReason::Unknown),
            Some(RemovalReason::UserDisconnected),
            Some(RemovalReason::AccountDeleted),
            Some(RemovalReason::AgeChanged),
            Some(RemovalReason::AccountBanned),
            None
        ]
    );
}
