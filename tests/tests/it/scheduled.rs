//! Scheduled posts (issue 19): `publish_at` checked as a post would be, stored as `SCHEDULED`
//! with a one-time schedule in moto's EventBridge Scheduler, fired through the `scheduled-post`
//! function (deliveries made by the test, as Scheduler would make them: once, twice, late,
//! concurrently, after a cancel), listed and cancelled; against moto and the fake TikTok.

use connect_domain::clock::Clock as _;
use connect_domain::store::{
    AccountStatus, FireClaim, MAX_FIRE_ATTEMPTS, ScheduleStore as _, TokenRotation as _,
};
use fake_tiktok::{Endpoint, Failure};
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, BOB};
use integration_tests::stack::POSTING_SCOPES;
use integration_tests::{Stack, StackOptions};
use serde_json::{Value, json};

const USER: &str = "app-user-1";
const VIDEO_URL: &str = "https://media.example.com/clips/cat.mp4";

async fn stack_with(account: &'static str) -> Stack {
    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account(USER, account, None).await;
    stack
}

fn direct_at(privacy: &str, publish_at: i64) -> Value {
    json!({
        "mode": "direct",
        "source": {"type": "url", "video_url": VIDEO_URL},
        "post_info": {"title": "later #cat", "privacy_level": privacy},
        "publish_at": publish_at,
    })
}

/// Schedules a Direct Post `lead` seconds ahead; returns the 202 body.
async fn schedule(stack: &Stack, privacy: &str, lead: i64) -> Value {
    let at = stack.clock.now() + lead;
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_at(privacy, at), None)
            .await,
    );
    assert_eq!(code, 202, "{body}");
    body
}

fn id_of(body: &Value) -> String {
    body["publish_id"].as_str().expect("publish_id").to_owned()
}

async fn deliver(stack: &Stack, id: &str) -> Value {
    stack
        .deliver_schedule(json!({ "publish_id": id }))
        .await
        .expect("delivery handled")
}

/// Asserts a delivery's report: the post failed, for `reason`.
fn assert_failed(report: &Value, reason: &str) {
    assert_eq!(
        (report["outcome"].as_str(), report["reason"].as_str()),
        (Some("failed"), Some(reason)),
        "{report}"
    );
}

async fn status(stack: &Stack, id: &str) -> Value {
    let (code, body) = answer(&stack.get_publish(USER, id, "cached=true").await);
    assert_eq!(code, 200, "{body}");
    body
}

#[tokio::test]
async fn a_scheduled_post_waits_then_fires_once_and_keeps_its_id() {
    let stack = stack_with(ALICE).await;
    let started = schedule(&stack, "SELF_ONLY", 180).await;
    let id = id_of(&started);
    assert!(id.starts_with("sched_"), "{started}");
    assert_eq!(started["status"], "SCHEDULED");
    let publish_at = started["publish_at"].as_i64().expect("publish_at");
    assert!((stack.clock.now() + 178..=stack.clock.now() + 180).contains(&publish_at));
    assert!(started.get("upload").is_none());
    // One one-time schedule in moto, at the post's time (UTC), naming the post.
    let schedules = stack.schedules().await;
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    let (name, expression, input) = &schedules[0];
    assert_eq!(name, &id);
    assert_eq!(
        expression,
        &connect_adapters::eventbridge::at_expression(publish_at)
    );
    assert_eq!(input, &json!({ "publish_id": id }));
    assert_eq!(stack.fake.posts_created(ALICE), 0, "nothing posted yet");
    let waiting = status(&stack, &id).await;
    assert_eq!(
        (waiting["status"].as_str(), waiting["scheduled_id"].as_str()),
        (Some("SCHEDULED"), Some(id.as_str()))
    );

    stack.clock.advance(180);
    let fired = deliver(&stack, &id).await;
    assert_eq!(fired["outcome"], "fired", "{fired}");
    let tiktok_id = fired["tiktok_publish_id"].as_str().expect("tiktok id");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    // Scheduler delivers at least once: the second delivery does nothing.
    let again = deliver(&stack, &id).await;
    assert_eq!(
        (again["outcome"].as_str(), again["status"].as_str()),
        (Some("ignored"), Some("FIRED"))
    );
    assert_eq!(stack.fake.posts_created(ALICE), 1, "never posted twice");
    // The app's id now answers the post TikTok started, naming the schedule.
    let after = status(&stack, &id).await;
    assert_eq!(after["publish_id"], tiktok_id);
    assert_eq!(after["scheduled_id"], id.as_str());
    assert_eq!(after["status"], "PROCESSING_DOWNLOAD");
    // Listed once: as the post it started.
    let (code, list) = answer(&stack.list_publish(USER, "").await);
    assert_eq!(code, 200, "{list}");
    let posts = list["posts"].as_array().expect("posts");
    assert_eq!(posts.len(), 1, "{list}");
    assert_eq!(posts[0]["publish_id"], tiktok_id);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn publish_at_is_checked_before_anything_is_stored() {
    let stack = stack_with(ALICE).await;
    stack.connect_account(USER, BOB, None).await;
    let now = stack.clock.now();
    let upload = json!({
        "mode": "inbox", "source": {"type": "upload", "video_size": 1024}, "publish_at": now + 600
    });
    let mut bob_public = direct_at("PUBLIC_TO_EVERYONE", now + 600);
    bob_public["open_id"] = json!(BOB);
    let creator_reads = stack.fake.calls(fake_tiktok::Endpoint::CreatorInfo);
    let cases = [
        (
            direct_at("SELF_ONLY", now + 60),
            "at least 120 seconds ahead",
        ),
        (
            direct_at("SELF_ONLY", now - 10),
            "at least 120 seconds ahead",
        ),
        (
            direct_at("SELF_ONLY", now + 31 * 86_400),
            "at most 30 days ahead",
        ),
        (upload, "needs a URL source"),
        (bob_public, "not one of this creator's options"),
    ];
    for (body, expected) in cases {
        let (code, answer_body) = answer(&stack.post_publish(USER, &body, None).await);
        assert_eq!(code, 400, "{answer_body}");
        assert!(
            answer_body["message"]
                .as_str()
                .is_some_and(|m| m.contains(expected)),
            "{expected}: {answer_body}"
        );
    }
    assert_eq!(
        stack.fake.calls(fake_tiktok::Endpoint::CreatorInfo),
        creator_reads + 1,
        "only Bob's privacy needed TikTok: the times and the source were refused before it"
    );
    let mut not_a_number = direct_at("SELF_ONLY", 0);
    not_a_number["publish_at"] = json!("tomorrow");
    let (code, _) = answer(&stack.post_publish(USER, &not_a_number, None).await);
    assert_eq!(code, 400);
    assert!(stack.schedules().await.is_empty(), "no schedule created");
    let (_, list) = answer(&stack.list_publish(USER, "status=all").await);
    assert_eq!(list["posts"], json!([]), "nothing stored");
    assert_eq!(stack.fake.posts_created(BOB), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_cancelled_post_never_fires_and_a_fired_one_cannot_be_cancelled() {
    let stack = stack_with(ALICE).await;
    let first = id_of(&schedule(&stack, "SELF_ONLY", 300).await);
    stack.clock.advance(1);
    let second = id_of(&schedule(&stack, "SELF_ONLY", 599).await);
    let (code, list) = answer(&stack.list_publish(USER, "status=scheduled").await);
    assert_eq!(code, 200);
    let ids: Vec<&str> = list["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .filter_map(|p| p["publish_id"].as_str())
        .collect();
    assert_eq!(ids, [second.as_str(), first.as_str()], "newest first");

    assert_eq!(
        answer(&stack.cancel_publish("someone-else", &first).await).0,
        404
    );
    assert_eq!(stack.cancel_publish(USER, &first).await.status(), 204);
    assert_eq!(stack.cancel_publish(USER, &first).await.status(), 204);
    let schedules: Vec<String> = stack.schedules().await.into_iter().map(|s| s.0).collect();
    assert_eq!(
        schedules,
        std::slice::from_ref(&second),
        "its schedule was deleted"
    );
    // A delivery racing the cancel (already on its way) finds it cancelled.
    stack.clock.advance(299);
    let late = deliver(&stack, &first).await;
    assert_eq!(
        (late["outcome"].as_str(), late["status"].as_str()),
        (Some("ignored"), Some("CANCELED"))
    );
    let cancelled = status(&stack, &first).await;
    assert_eq!(cancelled["fail_reason"], "canceled_by_app");

    stack.clock.advance(300);
    let fired = deliver(&stack, &second).await;
    let tiktok_id = fired["tiktok_publish_id"].as_str().expect("fired");
    let (code, body) = answer(&stack.cancel_publish(USER, &second).await);
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("not_cancelable"))
    );
    let (code, _) = answer(&stack.cancel_publish(USER, tiktok_id).await);
    assert_eq!(code, 409, "a post TikTok started cannot be cancelled");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    let (_, list) = answer(&stack.list_publish(USER, "status=scheduled").await);
    assert_eq!(list["posts"], json!([]));
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn concurrent_deliveries_post_once() {
    let stack = stack_with(ALICE).await;
    let id = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130);
    let (a, b, c) = tokio::join!(
        deliver(&stack, &id),
        deliver(&stack, &id),
        deliver(&stack, &id)
    );
    let fired = [&a, &b, &c]
        .iter()
        .filter(|r| r["outcome"] == "fired")
        .count();
    assert_eq!(fired, 1, "{a} {b} {c}");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
}

#[tokio::test]
async fn late_deliveries_and_changed_creator_options_fail_with_their_reason() {
    let stack = stack_with(ALICE).await;
    let late = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    let public = id_of(&schedule(&stack, "PUBLIC_TO_EVERYONE", 130).await);
    // Delivered more than an hour after its time (Scheduler stops retrying then).
    stack.clock.advance(130 + 3601);
    let report = deliver(&stack, &late).await;
    assert_failed(&report, "schedule_missed");
    // The creator made the account private since: public is no longer offered. It fails with
    // that reason; it is not posted with another privacy level.
    stack.clock.advance(-3601);
    assert!(stack.fake.set_private_account(ALICE, true));
    let report = deliver(&stack, &public).await;
    assert_eq!(
        report["reason"], "privacy_level_option_mismatch",
        "{report}"
    );
    let failed = status(&stack, &public).await;
    assert_eq!(
        (failed["status"].as_str(), failed["fail_reason"].as_str()),
        (Some("FAILED"), Some("privacy_level_option_mismatch"))
    );
    assert_eq!(stack.fake.posts_created(ALICE), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_delivery_that_died_while_firing_is_never_fired_again() {
    let stack = stack_with(ALICE).await;
    let id = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130);
    // A first delivery claimed it and died (timeout, crash) before storing the outcome.
    let claim = stack
        .publish
        .store
        .claim_scheduled(&id, stack.clock.now())
        .await
        .expect("claim");
    assert!(matches!(claim, FireClaim::Claimed(_)));
    // A duplicate delivery meanwhile leaves the claim alone (it may be a live delivery's).
    // Lambda's retry a minute after the death finds it stale and fails it.
    let soon = deliver(&stack, &id).await;
    assert_eq!(soon["status"], "FIRING", "{soon}");
    stack.clock.advance(30);
    assert_eq!(deliver(&stack, &id).await["status"], "FIRING");
    stack.clock.advance(30);
    let retry = deliver(&stack, &id).await;
    assert_failed(&retry, "publish_outcome_unknown");
    assert_eq!(stack.fake.posts_created(ALICE), 0, "not fired again");
}

/// The `post.schedule_failed` events on the bus so far.
async fn schedule_failures(stack: &Stack) -> Vec<Value> {
    stack
        .events_on_bus()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "post.schedule_failed")
        .collect()
}

#[tokio::test]
async fn a_failure_that_may_pass_gives_the_claim_back_for_the_retry() {
    let stack = stack_with(ALICE).await;
    let id = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130);
    // TikTok limits the creator-info read, then the init (it certainly did not post): each
    // delivery fails, so Lambda retries it, and the post waits for that retry.
    for endpoint in [Endpoint::CreatorInfo, Endpoint::VideoInit] {
        stack.fake.fail_next(endpoint, Failure::Status429, 1);
        let error = stack
            .deliver_schedule(json!({ "publish_id": id }))
            .await
            .expect_err("a delivery to retry");
        assert!(error.contains("too many requests"), "{endpoint:?}: {error}");
        let waiting = status(&stack, &id).await;
        assert_eq!(waiting["status"], "SCHEDULED", "{endpoint:?}: {waiting}");
        stack.clock.advance(60);
    }
    assert_eq!(stack.fake.posts_created(ALICE), 0);
    assert!(schedule_failures(&stack).await.is_empty());
    // The third delivery posts, once.
    let fired = deliver(&stack, &id).await;
    assert_eq!(fired["outcome"], "fired", "{fired}");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    assert_eq!(deliver(&stack, &id).await["outcome"], "ignored");
    // An init whose answer is lost may have posted: never tried again.
    let unknown = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130);
    stack
        .fake
        .fail_next(Endpoint::VideoInit, Failure::Status500, 1);
    let report = deliver(&stack, &unknown).await;
    assert_failed(&report, "publish_outcome_unknown");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn the_last_claim_or_a_late_one_stores_the_failure_that_may_pass() {
    let stack = stack_with(ALICE).await;
    let id = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130);
    // TikTok fails every creator-info read (each delivery tries it three times).
    let tries = 3 * MAX_FIRE_ATTEMPTS;
    let before = stack.fake.calls(Endpoint::CreatorInfo);
    stack
        .fake
        .fail_next(Endpoint::CreatorInfo, Failure::Status500, tries);
    for attempt in 1..MAX_FIRE_ATTEMPTS {
        assert!(
            stack
                .deliver_schedule(json!({ "publish_id": id }))
                .await
                .is_err(),
            "attempt {attempt} is retried"
        );
        stack.clock.advance(60);
    }
    let last = deliver(&stack, &id).await;
    assert_failed(&last, "tiktok_error");
    assert_eq!(stack.fake.calls(Endpoint::CreatorInfo) - before, tries);
    let failed = status(&stack, &id).await;
    assert_eq!(
        (failed["status"].as_str(), failed["fail_reason"].as_str()),
        (Some("FAILED"), Some("tiktok_error"))
    );
    let failures = schedule_failures(&stack).await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["detail"]["reason"], "tiktok_error");
    // A first claim so late that Lambda's retry would come after the hour fails at once.
    let late = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    stack.clock.advance(130 + 3500);
    stack
        .fake
        .fail_next(Endpoint::CreatorInfo, Failure::Status429, 1);
    let report = deliver(&stack, &late).await;
    assert_failed(&report, "rate_limited");
    assert_eq!(stack.fake.posts_created(ALICE), 0);
    stack.assert_nothing_leaked().await;
}

/// A disconnect cancels that account's waiting posts, found in the keys-only index of waiting
/// posts: not the app user's other account's, and not a post scheduled before the index existed
/// (which fails at its time instead). Fired and cancelled posts leave the index.
#[tokio::test]
async fn a_disconnect_cancels_the_accounts_waiting_posts_from_their_index() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = stack_with(ALICE).await;
    stack.connect_account(USER, BOB, None).await;
    let schedule_for = |open_id: &'static str, lead: i64| {
        let mut body = direct_at("SELF_ONLY", stack.clock.now() + lead);
        body["open_id"] = json!(open_id);
        let stack = &stack;
        async move {
            let (code, body) = answer(&stack.post_publish(USER, &body, None).await);
            assert_eq!(code, 202, "{body}");
            id_of(&body)
        }
    };
    let alice = [
        schedule_for(ALICE, 130).await,
        schedule_for(ALICE, 600).await,
    ];
    let bob = schedule_for(BOB, 130).await;
    let legacy = schedule_for(ALICE, 300).await;
    // As a post scheduled before the index: no waiting_for.
    stack
        .aws
        .dynamodb
        .update_item()
        .table_name(&stack.config.table_name)
        .key("pk", AttributeValue::S(format!("SCHEDULED#{legacy}")))
        .key("sk", AttributeValue::S("SCHEDULED".into()))
        .update_expression("REMOVE waiting_for")
        .send()
        .await
        .expect("UpdateItem");
    let waiting = |user: &'static str, open_id: &'static str| {
        let store = &stack.publish.store;
        async move {
            let mut ids = store
                .waiting_posts(user, &open_id.into())
                .await
                .expect("waiting");
            ids.sort();
            ids
        }
    };
    let mut expected = alice.to_vec();
    expected.sort();
    assert_eq!(waiting(USER, ALICE).await, expected);
    assert!(waiting("someone-else", ALICE).await.is_empty());

    assert_eq!(stack.delete_account(USER, ALICE).await.status(), 204);
    for id in &alice {
        let view = status(&stack, id).await;
        assert_eq!(
            (view["status"].as_str(), view["fail_reason"].as_str()),
            (Some("CANCELED"), Some("account_disconnected")),
            "{view}"
        );
    }
    assert!(waiting(USER, ALICE).await.is_empty());
    assert_eq!(status(&stack, &bob).await["status"], "SCHEDULED");
    assert_eq!(status(&stack, &legacy).await["status"], "SCHEDULED");
    // Bob's fires and leaves the index; the old post fails at its time.
    stack.clock.advance(130);
    assert_eq!(deliver(&stack, &bob).await["outcome"], "fired");
    assert!(waiting(USER, BOB).await.is_empty());
    stack.clock.advance(170);
    let report = deliver(&stack, &legacy).await;
    assert_failed(&report, "account_disconnected");
    assert_eq!(stack.fake.posts_created(ALICE), 0);
    stack.assert_nothing_leaked().await;
}

/// An account that needs connecting again keeps its waiting posts (docs/publishing.md#scheduled-posts):
/// reconnecting before a post's time, what an app does on `account.reauth_required`, posts it; a
/// post whose time comes first fails as `reauth_required`.
#[tokio::test]
async fn an_account_to_reconnect_keeps_its_posts_until_their_time() {
    let stack = stack_with(ALICE).await;
    let first = id_of(&schedule(&stack, "SELF_ONLY", 130).await);
    let second = id_of(&schedule(&stack, "SELF_ONLY", 400).await);
    let account = stack.account(USER, ALICE).await.expect("connected");
    stack
        .accounts
        .set_status(&account, AccountStatus::ReauthRequired)
        .await
        .expect("set_status");
    let (_, waiting) = answer(&stack.list_publish(USER, "status=scheduled").await);
    assert_eq!(
        waiting["posts"].as_array().map(Vec::len),
        Some(2),
        "{waiting}"
    );
    stack.clock.advance(130);
    let report = deliver(&stack, &first).await;
    assert_failed(&report, "reauth_required");
    stack.connect_account(USER, ALICE, None).await;
    stack.clock.advance(270);
    let fired = deliver(&stack, &second).await;
    assert_eq!(fired["outcome"], "fired", "{fired}");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn deliveries_with_bad_input_are_errors_and_listing_input_is_checked() {
    let stack = stack_with(ALICE).await;
    for input in [
        json!({}),
        json!({"publish_id": 7}),
        json!({"publish_id": "v_pub_url~v2.1"}),
        json!({"publish_id": "sched_x", "extra": 1}),
    ] {
        assert!(
            stack.deliver_schedule(input.clone()).await.is_err(),
            "{input}"
        );
    }
    let missing = deliver(&stack, "sched_aaaaaaaaaaaaaaaaaaaaaaaaaa").await;
    assert_eq!(missing["status"], "missing");
    for query in ["status=done", "cursor=%21%21", "open_id=", "limit=5"] {
        let (code, body) = answer(&stack.list_publish(USER, query).await);
        assert_eq!(code, 400, "{query}: {body}");
    }
    // Paging: 27 scheduled posts come back as 25 and 2, newest first, none twice. (Inbox
    // uploads: no creator-info read each, which TikTok allows 20 a minute.)
    for _ in 0..27 {
        let inbox = json!({
            "mode": "inbox",
            "source": {"type": "url", "video_url": VIDEO_URL},
            "publish_at": stack.clock.now() + 600,
        });
        let (code, body) = answer(&stack.post_publish(USER, &inbox, None).await);
        assert_eq!(code, 202, "{body}");
        stack.clock.advance(1);
    }
    let (_, first) = answer(&stack.list_publish(USER, "").await);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = answer(&stack.list_publish(USER, &format!("cursor={cursor}")).await);
    let mut ids: Vec<String> = first["posts"]
        .as_array()
        .into_iter()
        .chain(second["posts"].as_array())
        .flatten()
        .filter_map(|p| p["publish_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 27, "{first} {second}");
    ids.dedup();
    assert_eq!(ids.len(), 27);
}
