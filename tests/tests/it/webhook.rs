//! TikTok's webhooks (issue 7): signature checks, duplicates, a removed grant revoking the
//! account, publish events updating the stored status, and the fake TikTok's own sender (signed,
//! retried, duplicated) reaching the function over HTTP. Every test ends with the no-plaintext
//! and no-secret-in-logs checks.

use std::time::Duration;

use connect_domain::clock::Clock as _;
use connect_domain::store::AccountStatus;
use connect_services::refresh_job::JobSettings;
use fake_tiktok::Endpoint;
use integration_tests::api::answer;
use integration_tests::flow::ALICE;
use integration_tests::posting::{signature, webhook_body, webhook_body_at};
use integration_tests::stack::POSTING_SCOPES;
use integration_tests::{Stack, StackOptions};
use serde_json::json;

const USER: &str = "app-user-1";

async fn stack_with_alice() -> Stack {
    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account(USER, ALICE, None).await;
    stack
}

fn removed() -> String {
    webhook_body("authorization.removed", ALICE, &json!({"reason": 1}))
}

/// Alice's account is listed as revoked, holds no tokens, and is out of the refresh schedule.
async fn assert_revoked(stack: &Stack) {
    let account = stack.account(USER, ALICE).await.expect("kept, as revoked");
    assert_eq!(account.status, AccountStatus::Revoked);
    assert!(account.sealed_tokens.is_empty(), "tokens deleted");
    assert_eq!(account.refresh_due_at, None, "not scheduled");
    let (_, list) = answer(&stack.get_accounts(USER).await);
    assert_eq!(list["accounts"][0]["status"], "revoked");
}

#[tokio::test]
async fn a_signed_authorization_removed_revokes_the_account_and_the_job_skips_it() {
    let stack = stack_with_alice().await;
    let (code, body) = answer(&stack.deliver_signed(&removed()).await);
    assert_eq!((code, body), (200, json!({"ok": true})));
    assert_revoked(&stack).await;

    // A day later everything would be due; the job refreshes nothing and TikTok hears nothing.
    stack.clock.advance(3 * 86_400);
    let token_calls = stack.fake.calls(Endpoint::Token);
    let summary = stack
        .run_job(JobSettings::default(), Duration::from_secs(60))
        .await;
    assert_eq!(
        stack.fake.calls(Endpoint::Token),
        token_calls,
        "{summary:?}"
    );
    // Using it asks for a reconnect instead of calling TikTok.
    let (code, body) = answer(&stack.get_me(USER, "").await);
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("reauth_required"))
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn bad_signatures_stale_ones_and_bad_bodies_change_nothing() {
    let stack = stack_with_alice().await;
    let body = removed();
    let now = stack.clock.now();
    let cases = [
        (None, 401),
        (Some("t=1,s=00".to_owned()), 401),
        (Some(signature("not-the-client-secret", now, &body)), 401),
        (Some(signature(&stack.client_secret, now - 301, &body)), 401),
        (Some(signature(&stack.client_secret, now + 301, &body)), 401),
        (Some("garbage".to_owned()), 401),
    ];
    for (header, expected) in cases {
        let (code, answer_body) = answer(&stack.deliver_webhook(&body, header.as_deref()).await);
        assert_eq!(code, expected, "{header:?}: {answer_body}");
        assert_eq!(answer_body["error"], "invalid_signature");
    }
    // Signed, but not TikTok's shape; and another app's client key.
    for bad in [
        "not json".to_owned(),
        r#"{"event":"authorization.removed"}"#.to_owned(),
        body.replace("fake_client_key", "other_key"),
        webhook_body("authorization.removed", ALICE, &json!("x")).replace("\\\"x\\\"", "[1"),
    ] {
        let (code, answer_body) = answer(&stack.deliver_signed(&bad).await);
        assert_eq!(code, 400, "{bad}: {answer_body}");
    }
    let account = stack.account(USER, ALICE).await.expect("account");
    assert_eq!(account.status, AccountStatus::Active, "nothing changed");
    assert!(!account.sealed_tokens.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_late_authorization_removed_leaves_a_newer_connection_alone() {
    let stack = stack_with_alice().await;
    let connected_at = stack
        .account(USER, ALICE)
        .await
        .expect("account")
        .connected_at;
    // Alice removed the app an hour before she connected again; TikTok's retry arrives now.
    let late = webhook_body_at(
        "authorization.removed",
        ALICE,
        &json!({"reason": 1}),
        connected_at - 3600,
    );
    assert_eq!(
        answer(&stack.deliver_signed(&late).await),
        (200, json!({"ok": true}))
    );
    let account = stack.account(USER, ALICE).await.expect("account");
    assert_eq!(account.status, AccountStatus::Active, "the new grant stays");
    assert!(!account.sealed_tokens.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_duplicate_delivery_is_acknowledged_and_ignored() {
    let stack = stack_with_alice().await;
    let body = removed();
    assert_eq!(
        answer(&stack.deliver_signed(&body).await),
        (200, json!({"ok": true}))
    );
    // TikTok re-sends the same body (re-signed); the hash of the body is the event's identity.
    let (code, again) = answer(&stack.deliver_signed(&body).await);
    assert_eq!((code, again), (200, json!({"ok": true, "duplicate": true})));
    assert_revoked(&stack).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn publish_events_move_the_stored_status_forward_only() {
    let stack = stack_with_alice().await;
    let post = json!({"mode": "inbox", "source": {"type": "url", "video_url": "https://media.example.com/a.mp4"}});
    let (_, started) = answer(&stack.post_publish(USER, &post, None).await);
    let publish_id = started["publish_id"].as_str().expect("id").to_owned();

    let delivered = webhook_body(
        "post.publish.inbox_delivered",
        ALICE,
        &json!({"publish_id": publish_id, "publish_type": "INBOX_SHARE"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&delivered).await).0, 200);
    let (_, stored) = answer(&stack.get_publish(USER, &publish_id, "cached=true").await);
    assert_eq!(stored["status"], "SEND_TO_USER_INBOX", "{stored}");

    let public = webhook_body(
        "post.publish.publicly_available",
        ALICE,
        &json!({"publish_id": publish_id, "post_id": 7_312_345_678_901_234_567_u64, "publish_type": "INBOX_SHARE"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&public).await).0, 200);
    let (_, stored) = answer(&stack.get_publish(USER, &publish_id, "cached=true").await);
    assert_eq!(stored["status"], "PUBLISH_COMPLETE");
    assert_eq!(stored["post_ids"], json!(["7312345678901234567"]));

    // A late "failed" cannot turn a published post into a failed one.
    let late = webhook_body(
        "post.publish.failed",
        ALICE,
        &json!({"publish_id": publish_id, "reason": "internal"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&late).await).0, 200);
    let (_, stored) = answer(&stack.get_publish(USER, &publish_id, "").await);
    assert_eq!(stored["status"], "PUBLISH_COMPLETE");
    // An event for another account's post, or an unknown one, changes nothing.
    let foreign = webhook_body(
        "post.publish.failed",
        "open-someone-else",
        &json!({"publish_id": publish_id, "reason": "x"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&foreign).await).0, 200);
    let unknown = webhook_body(
        "portability.download.ready",
        ALICE,
        &json!({"request_id": 1}),
    );
    assert_eq!(answer(&stack.deliver_signed(&unknown).await).0, 200);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn the_fake_tiktoks_sender_reaches_the_function_with_duplicates() {
    let stack = stack_with_alice().await;
    let url = stack.serve_webhook().await;
    stack.fake.set_webhook_url(Some(&url));
    // The user removes the app in TikTok: TikTok revokes and tells us (reason 1), twice.
    stack.fake.revoke_grants(ALICE);
    let mut deliveries = Vec::new();
    for _ in 0..100 {
        deliveries = stack.fake.webhook_deliveries();
        if deliveries.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(deliveries.len() >= 2, "{deliveries:?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.event == "authorization.removed" && d.status == Some(200)),
        "{deliveries:?}"
    );
    assert_revoked(&stack).await;

    // A post followed through its webhooks alone.
    let (code, _) = answer(&stack.get_publish(USER, "creator-info", "").await);
    assert_eq!(code, 409, "revoked: reconnect first");
    stack.assert_nothing_leaked().await;
}

/// A delivery whose handler died after claiming the body and before acting (a crash, a timeout)
/// left it recorded, and TikTok's retries were dropped as duplicates for 4 days. Now a claim
/// still "processing" after a minute is taken over; a fresh one (a copy arriving while the first
/// is being handled) is still a duplicate.
#[tokio::test]
async fn a_delivery_whose_handler_died_mid_way_is_processed_on_retry() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use sha2::Digest as _;
    let stack = stack_with_alice().await;
    let body = removed();
    let hash = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let now = stack.clock.now();
    let claimed_at = |at: i64| {
        stack
            .aws
            .dynamodb
            .put_item()
            .table_name(&stack.config.table_name)
            .item("pk", AttributeValue::S(format!("WEBHOOK#{hash}")))
            .item("sk", AttributeValue::S("WEBHOOK".into()))
            .item("event_state", AttributeValue::S("processing".into()))
            .item("claimed_at", AttributeValue::N(at.to_string()))
            .item("ttl", AttributeValue::N((now + 86_400).to_string()))
            .send()
    };

    claimed_at(now - 5).await.expect("a claim 5 s old");
    let (code, answered) = answer(&stack.deliver_signed(&body).await);
    assert_eq!(
        (code, answered),
        (200, json!({"ok": true, "duplicate": true})),
        "being handled right now: a copy is a duplicate"
    );
    let account = stack.account(USER, ALICE).await.expect("account");
    assert_eq!(account.status, AccountStatus::Active, "not acted on twice");

    claimed_at(now - 120).await.expect("a claim 2 min old");
    let (code, answered) = answer(&stack.deliver_signed(&body).await);
    assert_eq!((code, answered), (200, json!({"ok": true})), "processed");
    assert_revoked(&stack).await;
    let (code, again) = answer(&stack.deliver_signed(&body).await);
    assert_eq!(
        (code, again),
        (200, json!({"ok": true, "duplicate": true})),
        "done: later copies are duplicates"
    );
    stack.assert_nothing_leaked().await;
}

/// `authorization.removed` carries TikTok's reason (0–5); the listing shows it as
/// `revoked_reason` so an app can tell "the user removed the app" from "the account was banned",
/// and a new connection clears it.
#[tokio::test]
async fn authorization_removed_keeps_tiktoks_reason_for_the_app() {
    let stack = stack_with_alice().await;
    let reasons = [
        (0, "unknown"),
        (1, "user_disconnected"),
        (2, "account_deleted"),
        (3, "age_changed"),
        (4, "account_banned"),
        (5, "developer_revoked"),
        (9, "unknown"),
    ];
    for (code, name) in reasons {
        let at = stack.clock.now();
        let body = webhook_body_at("authorization.removed", ALICE, &json!({"reason": code}), at);
        assert_eq!(answer(&stack.deliver_signed(&body).await).0, 200);
        let (_, list) = answer(&stack.get_accounts(USER).await);
        let listed = &list["accounts"][0];
        assert_eq!(
            (listed["status"].as_str(), listed["revoked_reason"].as_str()),
            (Some("revoked"), Some(name)),
            "reason {code}: {list}"
        );
        // Connecting again is a new grant: active, no reason.
        stack.clock.advance(1);
        stack.connect_account(USER, ALICE, None).await;
        let (_, list) = answer(&stack.get_accounts(USER).await);
        assert_eq!(list["accounts"][0]["status"], "active", "{list}");
        assert!(
            list["accounts"][0].get("revoked_reason").is_none(),
            "{list}"
        );
        stack.clock.advance(1);
    }
    stack.assert_nothing_leaked().await;
}

/// A public post's id reaches the stored post by webhook and by status fetch, in either order
/// and twice, as one id; `no_longer_publicaly_available` (TikTok's spelling) withdraws it for
/// good, also against a late `publicly_available`.
#[tokio::test]
async fn public_post_ids_arrive_once_whatever_the_order_and_can_be_withdrawn() {
    let stack = stack_with_alice().await;
    let post = json!({
        "mode": "direct",
        "source": {"type": "url", "video_url": "https://media.example.com/a.mp4"},
        "post_info": {"privacy_level": "PUBLIC_TO_EVERYONE"}
    });
    let (code, started) = answer(&stack.post_publish(USER, &post, None).await);
    assert_eq!(code, 202, "{started}");
    let publish_id = started["publish_id"].as_str().expect("id").to_owned();
    let event = |name: &str, post_id: &str| {
        webhook_body(
            name,
            ALICE,
            &json!({"publish_id": publish_id, "post_id": post_id.parse::<u64>().expect("digits"), "publish_type": "DIRECT_PUBLISH"}),
        )
    };
    // TikTok finishes and moderates (the fake's own delay); the webhook arrives first, twice.
    stack.fake.advance_clock(10);
    stack.fake.advance_clock(60);
    let (_, fetched) = answer(&stack.get_publish(USER, &publish_id, "").await);
    assert_eq!(fetched["status"], "PUBLISH_COMPLETE", "{fetched}");
    let post_id = fetched["post_ids"][0]
        .as_str()
        .expect("the id, after moderation")
        .to_owned();
    // After the fetch saw it, the webhook brings the same id, twice: still one id.
    for _ in 0..2 {
        assert_eq!(
            answer(
                &stack
                    .deliver_signed(&event("post.publish.publicly_available", &post_id))
                    .await
            )
            .0,
            200
        );
    }
    let (_, stored) = answer(&stack.get_publish(USER, &publish_id, "cached=true").await);
    assert_eq!(stored["post_ids"], json!([post_id]), "{stored}");
    assert_eq!(stored["withdrawn_post_ids"], json!([]));

    // Taken down: withdrawn, and a late publicly_available does not bring it back.
    let withdrawn = event("post.publish.no_longer_publicaly_available", &post_id);
    assert_eq!(answer(&stack.deliver_signed(&withdrawn).await).0, 200);
    let late = webhook_body_at(
        "post.publish.publicly_available",
        ALICE,
        &json!({"publish_id": publish_id, "post_id": post_id, "publish_type": "DIRECT_PUBLISH"}),
        stack.clock.now() + 1,
    );
    assert_eq!(answer(&stack.deliver_signed(&late).await).0, 200);
    let (_, stored) = answer(&stack.get_publish(USER, &publish_id, "").await);
    assert_eq!(
        (
            stored["post_ids"].clone(),
            stored["withdrawn_post_ids"].clone()
        ),
        (json!([]), json!([post_id])),
        "{stored}"
    );
    assert!(
        stored.get("videos").is_none(),
        "nothing public to attach: {stored}"
    );

    // Another post whose id comes by webhook before any status fetch saw it.
    let (_, second) = answer(&stack.post_publish(USER, &post, None).await);
    let second_id = second["publish_id"].as_str().expect("id").to_owned();
    let early = webhook_body(
        "post.publish.publicly_available",
        ALICE,
        &json!({"publish_id": second_id, "post_id": 7_312_345_678_901_234_999_u64, "publish_type": "DIRECT_PUBLISH"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&early).await).0, 200);
    let (_, stored) = answer(&stack.get_publish(USER, &second_id, "cached=true").await);
    assert_eq!(
        (stored["status"].as_str(), stored["post_ids"].clone()),
        (Some("PUBLISH_COMPLETE"), json!(["7312345678901234999"])),
        "{stored}"
    );
    stack.assert_nothing_leaked().await;
}
