//! Events out to the app (issue 19): each change an app cares about arrives on the stack's bus
//! once, read back from a queue a rule on the bus feeds (as an app subscribes), with no secret in
//! it; against moto's EventBridge and SQS and the fake TikTok.

use connect_domain::clock::Clock as _;
use integration_tests::api::answer;
use integration_tests::flow::ALICE;
use integration_tests::posting::webhook_body;
use integration_tests::stack::POSTING_SCOPES;
use integration_tests::{Stack, StackOptions};
use serde_json::{Value, json};

const USER: &str = "app-user-1";
const VIDEO_URL: &str = "https://media.example.com/clips/cat.mp4";

/// The events of `detail_type` that arrived so far.
fn of(events: &[Value], detail_type: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == detail_type)
        .map(|e| e["detail"].clone())
        .collect()
}

#[tokio::test]
async fn each_change_arrives_once_with_its_detail_and_no_secret() {
    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account(USER, ALICE, None).await;
    let events = stack.events_on_bus().await;
    let connected = of(&events, "account.connected");
    assert_eq!(connected.len(), 1, "{events:?}");
    assert_eq!(
        (
            connected[0]["app_user"].as_str(),
            connected[0]["open_id"].as_str()
        ),
        (Some(USER), Some(ALICE))
    );
    assert!(events.iter().all(|e| e["source"] == "tiktok-connect"));

    // A post now, followed to its end: one status change per move, none for a repeated status.
    let now_post = json!({
        "mode": "direct",
        "source": {"type": "url", "video_url": VIDEO_URL},
        "post_info": {"title": "now", "privacy_level": "SELF_ONLY"},
    });
    let (code, started) = answer(&stack.post_publish(USER, &now_post, None).await);
    assert_eq!(code, 202, "{started}");
    let publish_id = started["publish_id"].as_str().expect("publish_id");
    stack.fake.advance_clock(10);
    for _ in 0..2 {
        let (code, _) = answer(&stack.get_publish(USER, publish_id, "").await);
        assert_eq!(code, 200);
    }
    // TikTok's webhook says the same afterwards (a status read stored it first): no new event.
    let complete = webhook_body(
        "post.publish.complete",
        ALICE,
        &json!({"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}),
    );
    assert_eq!(stack.deliver_signed(&complete).await.status(), 200);
    let changes = of(&stack.events_on_bus().await, "post.status_changed");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["publish_id"], publish_id);
    assert_eq!(changes[0]["old_status"], "PROCESSING_DOWNLOAD");
    assert_eq!(changes[0]["new_status"], "PUBLISH_COMPLETE");
    assert_eq!(changes[0]["post_ids"], json!([]));

    // A scheduled post fired, and one the revoke cancels.
    let schedule = |lead: i64| {
        json!({
            "mode": "direct",
            "source": {"type": "url", "video_url": VIDEO_URL},
            "post_info": {"title": "later", "privacy_level": "SELF_ONLY"},
            "publish_at": stack.clock.now() + lead,
        })
    };
    let (_, fired) = answer(&stack.post_publish(USER, &schedule(130), None).await);
    let (_, waiting) = answer(&stack.post_publish(USER, &schedule(3600), None).await);
    stack.clock.advance(130);
    let report = stack
        .deliver_schedule(json!({"publish_id": fired["publish_id"]}))
        .await
        .expect("fired");
    let changes = of(&stack.events_on_bus().await, "post.status_changed");
    let from_schedule: Vec<&Value> = changes
        .iter()
        .filter(|c| c["scheduled_id"] == fired["publish_id"])
        .collect();
    assert_eq!(from_schedule.len(), 1, "{changes:?}");
    assert_eq!(
        from_schedule[0]["publish_id"], report["tiktok_publish_id"],
        "named by TikTok's id from now on"
    );
    assert_eq!(from_schedule[0]["old_status"], "SCHEDULED");

    // TikTok removes the grant: revoked with its reason, the waiting post cancelled.
    let body = webhook_body("authorization.removed", ALICE, &json!({"reason": 2}));
    assert_eq!(stack.deliver_signed(&body).await.status(), 200);
    assert_eq!(stack.deliver_signed(&body).await.status(), 200, "a repeat");
    let events = stack.events_on_bus().await;
    let revoked = of(&events, "account.revoked");
    assert_eq!(revoked.len(), 1, "once, though delivered twice: {events:?}");
    assert_eq!(revoked[0]["app_user"], USER);
    assert!(revoked[0]["reason"].is_string(), "{revoked:?}");
    let canceled: Vec<Value> = of(&events, "post.status_changed")
        .into_iter()
        .filter(|c| c["new_status"] == "CANCELED")
        .collect();
    assert_eq!(canceled.len(), 1, "{events:?}");
    assert_eq!(canceled[0]["publish_id"], waiting["publish_id"]);
    assert_eq!(canceled[0]["reason"], "account_revoked");
    let (_, view) = answer(
        &stack
            .get_publish(USER, waiting["publish_id"].as_str().expect("id"), "")
            .await,
    );
    assert_eq!(view["status"], "CANCELED");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn reauth_disconnect_and_cancel_are_announced() {
    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account(USER, ALICE, None).await;
    let later = json!({
        "mode": "inbox",
        "source": {"type": "url", "video_url": VIDEO_URL},
        "publish_at": stack.clock.now() + 600,
    });
    let (_, first) = answer(&stack.post_publish(USER, &later, None).await);
    let (_, second) = answer(&stack.post_publish(USER, &later, None).await);
    let first = first["publish_id"].as_str().expect("id").to_owned();
    assert_eq!(stack.cancel_publish(USER, &first).await.status(), 204);
    assert_eq!(stack.cancel_publish(USER, &first).await.status(), 204);

    // The grant dies at TikTok; the next call finds out.
    stack.fake.revoke_grants(ALICE);
    stack.fake.expire_access_tokens(ALICE);
    stack.clock.advance(86_400 + 60);
    let (code, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(code, 409);
    let (code, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(code, 409, "known now: no second event");

    assert_eq!(stack.delete_account(USER, ALICE).await.status(), 204);
    let events = stack.events_on_bus().await;
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "account.connected",
            "post.status_changed",
            "account.reauth_required",
            "account.disconnected",
            "post.status_changed",
        ],
        "{events:?}"
    );
    assert_eq!(events[1]["detail"]["publish_id"], first.as_str());
    assert_eq!(events[1]["detail"]["reason"], "canceled_by_app");
    assert_eq!(events[4]["detail"]["publish_id"], second["publish_id"]);
    assert_eq!(events[4]["detail"]["reason"], "account_disconnected");
    stack.assert_nothing_leaked().await;
}
