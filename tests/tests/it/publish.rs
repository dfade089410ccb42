//! Posting videos (issue 7): creator info, Direct Post and inbox upload from a URL and by
//! chunked upload, validation before TikTok, TikTok's refusals, never posting twice, and status
//! polling, against moto and the fake TikTok over HTTP. Every test ends with the no-plaintext and
//! no-secret-in-logs checks.

use connect_domain::clock::Clock as _;
use fake_tiktok::{Endpoint, Failure, PostingBlock};
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, BOB, header};
use integration_tests::stack::POSTING_SCOPES;
use integration_tests::{Stack, StackOptions};
use serde_json::{Value, json};

const USER: &str = "app-user-1";
const VIDEO_URL: &str = "https://media.example.com/clips/cat.mp4";
const MIB: u64 = 1024 * 1024;

async fn stack_with(account: &'static str, granted: Option<Vec<&'static str>>) -> Stack {
    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account(USER, account, granted).await;
    stack
}

fn direct_from_url(privacy: &str) -> Value {
    json!({
        "mode": "direct",
        "source": {"type": "url", "video_url": VIDEO_URL},
        "post_info": {"title": "a funny #cat", "privacy_level": privacy, "disable_comment": true}
    })
}

/// Follows the status until it is final (the fake finishes 5 s of its own time after the
/// upload or the init; its clock is moved instead of waiting).
async fn status(stack: &Stack, publish_id: &str) -> Value {
    let (code, body) = answer(&stack.get_publish(USER, publish_id, "").await);
    assert_eq!(code, 200, "{body}");
    body
}

/// PUTs every chunk of the answer's plan to TikTok's upload URL; returns the statuses.
async fn upload_chunks(started: &Value) -> Vec<u16> {
    let upload = &started["upload"];
    let url = upload["upload_url"].as_str().expect("upload_url");
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for chunk in upload["chunks"].as_array().expect("chunks") {
        let size = usize::try_from(chunk["size"].as_u64().expect("size")).expect("fits");
        let response = http
            .put(url)
            .header("content-type", "video/mp4")
            .header(
                "content-range",
                chunk["content_range"].as_str().expect("range"),
            )
            .body(vec![0u8; size])
            .send()
            .await
            .expect("PUT reaches the fake");
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn creator_info_for_a_public_and_a_private_account() {
    let stack = stack_with(ALICE, None).await;
    stack.connect_account(USER, BOB, None).await;
    let (code, alice) = answer(
        &stack
            .get_publish(USER, "creator-info", &format!("open_id={ALICE}"))
            .await,
    );
    assert_eq!(code, 200, "{alice}");
    assert_eq!(alice["open_id"], ALICE);
    assert!(
        alice["privacy_level_options"]
            .as_array()
            .expect("options")
            .contains(&json!("PUBLIC_TO_EVERYONE"))
    );
    assert!(alice["max_video_post_duration_sec"].as_i64().is_some());
    let (_, bob) = answer(
        &stack
            .get_publish(USER, "creator-info", &format!("open_id={BOB}"))
            .await,
    );
    let options = bob["privacy_level_options"].as_array().expect("options");
    assert!(
        options.contains(&json!("FOLLOWER_OF_CREATOR"))
            && !options.contains(&json!("PUBLIC_TO_EVERYONE"))
    );
    assert_eq!(bob["duet_disabled"], true);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn creator_info_posting_caps_arrive_with_http_200_and_are_refusals() {
    let stack = stack_with(ALICE, None).await;
    stack
        .fake
        .set_posting_block(ALICE, Some(PostingBlock::TooManyPosts));
    let (code, body) = answer(&stack.get_publish(USER, "creator-info", "").await);
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("spam_risk_too_many_posts")),
        "{body}"
    );
    assert!(body["tiktok_log_id"].is_string());
    assert_eq!(
        body["limit_of"], "account",
        "the creator's limit, not the app's"
    );
    // A post is refused the same way, before any init.
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("spam_risk_too_many_posts")),
        "{body}"
    );
    assert_eq!(stack.fake.calls(Endpoint::VideoInit), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn direct_post_from_a_url_is_followed_to_completion() {
    let stack = stack_with(ALICE, None).await;
    let (code, started) = answer(
        &stack
            .post_publish(USER, &direct_from_url("PUBLIC_TO_EVERYONE"), None)
            .await,
    );
    assert_eq!(code, 202, "{started}");
    let publish_id = started["publish_id"]
        .as_str()
        .expect("publish_id")
        .to_owned();
    assert_eq!(started["status"], "PROCESSING_DOWNLOAD");
    assert!(started.get("upload").is_none());
    assert_eq!(stack.fake.posts_created(ALICE), 1);

    let processing = status(&stack, &publish_id).await;
    assert_eq!(
        (
            processing["status"].as_str(),
            processing["checked"].as_str()
        ),
        (Some("PROCESSING_DOWNLOAD"), Some("tiktok"))
    );

    stack.fake.advance_clock(10);
    let done = status(&stack, &publish_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert_eq!(
        done["post_ids"],
        json!([]),
        "not yet through moderation: {done}"
    );
    stack.fake.advance_clock(60);
    let done = status(&stack, &publish_id).await;
    let post_id = done["post_ids"][0].as_str().expect("post ids are strings");
    assert!(
        post_id.parse::<u64>().expect("digits") > 1 << 53,
        "{post_id}"
    );

    // Final: answered from the table without asking TikTok again.
    let fetches = stack.fake.calls(Endpoint::StatusFetch);
    let again = status(&stack, &publish_id).await;
    assert_eq!(
        (again["status"].as_str(), again["checked"].as_str()),
        (Some("PUBLISH_COMPLETE"), Some("stored"))
    );
    assert_eq!(stack.fake.calls(Endpoint::StatusFetch), fetches);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn inbox_upload_in_chunks_with_a_larger_last_chunk() {
    let stack = stack_with(ALICE, None).await;
    let size = 25 * MIB + 123;
    let body = json!({"mode": "inbox", "source": {"type": "upload", "video_size": size}});
    let (code, started) = answer(&stack.post_publish(USER, &body, None).await);
    assert_eq!(code, 202, "{started}");
    let upload = &started["upload"];
    assert_eq!(
        (
            upload["chunk_size"].as_u64(),
            upload["total_chunk_count"].as_u64()
        ),
        (Some(10 * MIB), Some(2))
    );
    assert_eq!(
        upload["chunks"][1]["size"].as_u64(),
        Some(15 * MIB + 123),
        "the last chunk takes the rest"
    );
    assert!(upload["upload_url_expires_at"].as_i64().is_some());
    let publish_id = started["publish_id"].as_str().expect("id").to_owned();
    assert_eq!(
        status(&stack, &publish_id).await["status"],
        "PROCESSING_UPLOAD"
    );

    assert_eq!(upload_chunks(&started).await, [206, 201]);
    stack.fake.advance_clock(10);
    assert_eq!(
        status(&stack, &publish_id).await["status"],
        "SEND_TO_USER_INBOX"
    );
    // The creator posts it from the TikTok inbox.
    assert!(stack.fake.complete_inbox_share(&publish_id));
    assert_eq!(
        status(&stack, &publish_id).await["status"],
        "PUBLISH_COMPLETE"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn direct_upload_of_a_file_under_5_mb_is_one_chunk() {
    let stack = stack_with(ALICE, None).await;
    let body = json!({
        "mode": "direct",
        "source": {"type": "upload", "video_size": 3 * MIB},
        "post_info": {"privacy_level": "SELF_ONLY", "title": "short"}
    });
    let (code, started) = answer(&stack.post_publish(USER, &body, None).await);
    assert_eq!(code, 202, "{started}");
    assert_eq!(started["upload"]["total_chunk_count"].as_u64(), Some(1));
    assert_eq!(started["upload"]["chunk_size"].as_u64(), Some(3 * MIB));
    assert_eq!(upload_chunks(&started).await, [201]);
    stack.fake.advance_clock(10);
    let publish_id = started["publish_id"].as_str().expect("id");
    assert_eq!(
        status(&stack, publish_id).await["status"],
        "PUBLISH_COMPLETE"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn bad_posts_are_refused_before_tiktok_is_asked_to_post() {
    let stack = stack_with(BOB, None).await;
    // Bob's account is private: PUBLIC_TO_EVERYONE is not one of his options.
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_from_url("PUBLIC_TO_EVERYONE"), None)
            .await,
    );
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("FOLLOWER_OF_CREATOR"),
        "{body}"
    );
    // Comments can be turned off by Bob only... duets are off for private accounts: asking for them fails.
    let mut duet = direct_from_url("SELF_ONLY");
    duet["post_info"]["disable_duet"] = json!(false);
    let (code, body) = answer(&stack.post_publish(USER, &duet, None).await);
    assert_eq!(code, 400, "{body}");
    // Too long a title: refused without even asking for creator info.
    let creator_calls = stack.fake.calls(Endpoint::CreatorInfo);
    let mut long = direct_from_url("SELF_ONLY");
    long["post_info"]["title"] = json!("#".repeat(2201));
    let (code, body) = answer(&stack.post_publish(USER, &long, None).await);
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().expect("message").contains("2200"));
    assert_eq!(stack.fake.calls(Endpoint::CreatorInfo), creator_calls);
    assert_eq!(
        stack.fake.calls(Endpoint::VideoInit),
        0,
        "no post was attempted"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn posting_needs_the_scope_of_its_mode() {
    let stack = stack_with(ALICE, Some(vec!["user.info.basic", "video.upload"])).await;
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    assert_eq!(
        (code, body["scope"].as_str()),
        (403, Some("video.publish")),
        "{body}"
    );
    let (code, _) = answer(&stack.get_publish(USER, "creator-info", "").await);
    assert_eq!(code, 403);
    // Inbox uploads only need video.upload.
    let inbox = json!({"mode": "inbox", "source": {"type": "url", "video_url": VIDEO_URL}});
    let (code, body) = answer(&stack.post_publish(USER, &inbox, None).await);
    assert_eq!(code, 202, "{body}");
    assert_eq!(stack.fake.calls(Endpoint::CreatorInfo), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_refusals_keep_their_codes() {
    let stack = stack_with(ALICE, None).await;
    stack.fake.set_unaudited(true);
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    assert_eq!(
        (code, body["error"].as_str()),
        (
            403,
            Some("unaudited_client_can_only_post_to_private_accounts")
        ),
        "{body}"
    );
    assert!(body["tiktok_log_id"].is_string());
    stack.fake.set_unaudited(false);
    let mut unverified = direct_from_url("SELF_ONLY");
    unverified["source"]["video_url"] = json!("https://cdn.elsewhere.example/v.mp4");
    let (code, body) = answer(&stack.post_publish(USER, &unverified, None).await);
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("url_ownership_unverified")),
        "{body}"
    );
    assert_eq!(stack.fake.posts_created(ALICE), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn an_init_that_timed_out_after_tiktok_posted_is_never_posted_again() {
    let stack = stack_with(ALICE, None).await;
    // TikTok creates the post, then answers after our 6 s timeout.
    stack.fake.fail_next(
        Endpoint::VideoInit,
        Failure::Timeout(std::time::Duration::from_secs(8)),
        1,
    );
    let body = direct_from_url("SELF_ONLY");
    let (code, first) = answer(&stack.post_publish(USER, &body, Some("order-42")).await);
    assert_eq!(
        (code, first["error"].as_str()),
        (502, Some("publish_outcome_unknown")),
        "{first}"
    );
    assert_eq!(stack.fake.posts_created(ALICE), 1, "TikTok did create it");
    assert_eq!(
        stack.fake.calls(Endpoint::VideoInit),
        1,
        "and it was not retried"
    );

    // The app retries with the same key: the first answer again, no second post.
    let replay = stack.post_publish(USER, &body, Some("order-42")).await;
    assert_eq!(header(&replay, "idempotent-replayed"), Some("true"));
    assert_eq!(answer(&replay), (502, first.clone()));
    assert_eq!(stack.fake.calls(Endpoint::VideoInit), 1);
    // The same key for another request is refused.
    let (code, body) = answer(
        &stack
            .post_publish(
                USER,
                &direct_from_url("MUTUAL_FOLLOW_FRIENDS"),
                Some("order-42"),
            )
            .await,
    );
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_post() {
    let stack = stack_with(ALICE, None).await;
    let body = json!({"mode": "inbox", "source": {"type": "upload", "video_size": 12 * MIB}});
    let (code, first) = answer(&stack.post_publish(USER, &body, Some("k-1")).await);
    assert_eq!(code, 202, "{first}");
    let replay = stack.post_publish(USER, &body, Some("k-1")).await;
    assert_eq!(header(&replay, "idempotent-replayed"), Some("true"));
    let (code, second) = answer(&replay);
    assert_eq!(code, 202);
    assert_eq!(second, first, "same publish_id and upload_url");
    assert_eq!(stack.fake.posts_created(ALICE), 1);
    // The stored answer holds an upload URL: it is sealed in the table, not readable.
    let dump = format!("{:?}", stack.table_dump().await);
    assert!(!dump.contains(first["upload"]["upload_url"].as_str().expect("url")));
    // Without a key, each request is a new post.
    let (code, _) = answer(&stack.post_publish(USER, &body, None).await);
    assert_eq!(code, 202);
    assert_eq!(stack.fake.posts_created(ALICE), 2);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_refused_attempt_frees_its_idempotency_key() {
    let stack = stack_with(ALICE, None).await;
    stack
        .fake
        .fail_next(Endpoint::VideoInit, Failure::Status500, 1);
    let body = direct_from_url("SELF_ONLY");
    let (code, first) = answer(&stack.post_publish(USER, &body, Some("k-2")).await);
    // A 5xx answer after sending: TikTok may have acted, so the key keeps the answer.
    assert_eq!(
        (code, first["error"].as_str()),
        (502, Some("publish_outcome_unknown")),
        "{first}"
    );
    stack
        .fake
        .fail_next(Endpoint::VideoInit, Failure::Status429, 1);
    let limited = stack.post_publish(USER, &body, Some("k-3")).await;
    let (code, body_429) = answer(&limited);
    assert_eq!(code, 429, "{body_429}");
    assert!(
        header(&limited, "retry-after").is_some(),
        "headers kept under a key"
    );
    // TikTok refused outright: the same key works once TikTok accepts.
    let (code, ok) = answer(&stack.post_publish(USER, &body, Some("k-3")).await);
    assert_eq!(code, 202, "{ok}");
    stack.assert_nothing_leaked().await;
}

/// An init answered 200 with a body that cannot be read may have posted: the key keeps the
/// unknown outcome (it used to be freed, as for an explicit refusal, and the retry posted again).
#[tokio::test]
async fn an_init_answer_that_cannot_be_read_keeps_its_idempotency_key() {
    let stack = stack_with(ALICE, None).await;
    stack
        .fake
        .fail_next(Endpoint::VideoInit, Failure::MalformedJson, 1);
    let body = direct_from_url("SELF_ONLY");
    let (code, first) = answer(&stack.post_publish(USER, &body, Some("k-unread")).await);
    assert_eq!(
        (code, first["error"].as_str()),
        (502, Some("publish_outcome_unknown")),
        "{first}"
    );
    let inits = stack.fake.calls(Endpoint::VideoInit);
    let retry = stack.post_publish(USER, &body, Some("k-unread")).await;
    let (code, again) = answer(&retry);
    assert_eq!((code, again), (502, first), "the first answer, replayed");
    assert_eq!(header(&retry, "idempotent-replayed"), Some("true"));
    assert_eq!(
        stack.fake.calls(Endpoint::VideoInit),
        inits,
        "no second init reached TikTok"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_failed_post_reports_tiktoks_reason() {
    let stack = stack_with(ALICE, None).await;
    let (_, started) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    let publish_id = started["publish_id"].as_str().expect("id");
    assert!(stack.fake.fail_publish(publish_id, "spam_risk_text"));
    let failed = status(&stack, publish_id).await;
    assert_eq!(
        (failed["status"].as_str(), failed["fail_reason"].as_str()),
        (Some("FAILED"), Some("spam_risk_text"))
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn inits_beyond_six_a_minute_are_held_back_here() {
    let stack = stack_with(ALICE, None).await;
    // Start at the top of a minute of our clock, so all seven fall into one window.
    let now = stack.clock.now();
    stack.clock.advance(60 - now.rem_euclid(60));
    let body = json!({"mode": "inbox", "source": {"type": "url", "video_url": VIDEO_URL}});
    for _ in 0..5 {
        let (code, body) = answer(&stack.post_publish(USER, &body, None).await);
        assert_eq!(code, 202, "{body}");
    }
    // TikTok allows 5 pending inbox shares a day; the sixth is its refusal, counted anyway.
    let (code, refused) = answer(&stack.post_publish(USER, &body, None).await);
    assert_eq!(
        (code, refused["error"].as_str()),
        (403, Some("spam_risk_too_many_pending_share")),
        "{refused}"
    );
    let response = stack.post_publish(USER, &body, None).await;
    let (code, limited) = answer(&response);
    assert_eq!(
        (code, limited["error"].as_str()),
        (429, Some("rate_limited")),
        "{limited}"
    );
    assert!(header(&response, "retry-after").is_some());
    assert_eq!(
        stack.fake.calls(Endpoint::VideoInit),
        6,
        "the seventh never reached TikTok"
    );
    // Creator info says so before anyone tries: the account's limit, until the next minute.
    let limited = posting(&stack).await;
    assert_eq!(
        (
            limited["can_post"].as_bool(),
            limited["reason"].as_str(),
            limited["limit_of"].as_str()
        ),
        (Some(false), Some("rate_limited"), Some("account")),
        "{limited}"
    );
    assert!(
        limited["retry_after"]
            .as_i64()
            .is_some_and(|s| (1..=60).contains(&s)),
        "{limited}"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn another_users_post_is_not_found() {
    let stack = stack_with(ALICE, None).await;
    let (_, started) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    let publish_id = started["publish_id"].as_str().expect("id");
    let (code, body) = answer(&stack.get_publish("someone-else", publish_id, "").await);
    assert_eq!(
        (code, body["error"].as_str()),
        (404, Some("publish_not_found"))
    );
    let (code, _) = answer(&stack.get_publish(USER, "v_pub_url~v2.404", "").await);
    assert_eq!(code, 404);
    // Wrong methods name the allowed one.
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let response = stack
        .send(
            "DELETE",
            "/tiktok/publish",
            "",
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(
        (response.status().as_u16(), header(&response, "allow")),
        (405, Some("GET, POST"))
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_key_whose_first_request_died_mid_way_is_never_posted_again() {
    use connect_domain::store::{PublishStore as _, idempotency_hash};
    let stack = stack_with(ALICE, None).await;
    let body = direct_from_url("SELF_ONLY");
    // The first request claimed the key, then its function died (timeout, crash) before storing
    // an answer: TikTok may or may not have posted.
    let request = connect_services::publish::PublishRequest::parse(body.to_string().as_bytes())
        .expect("valid");
    let now = stack.clock.now();
    stack
        .publish
        .store
        .claim_idempotent(
            &idempotency_hash(USER, "k-dead"),
            &format!("{}:{ALICE}", request.fingerprint),
            now,
            now + 86_400,
        )
        .await
        .expect("claim");
    let (code, body_now) = answer(&stack.post_publish(USER, &body, Some("k-dead")).await);
    assert_eq!(
        (code, body_now["error"].as_str()),
        (409, Some("idempotency_in_progress")),
        "{body_now}"
    );
    // A minute later it is no longer running: its outcome is unknown, and it is not repeated.
    stack.clock.advance(61);
    let (code, later) = answer(&stack.post_publish(USER, &body, Some("k-dead")).await);
    assert_eq!(
        (code, later["error"].as_str()),
        (502, Some("publish_outcome_unknown")),
        "{later}"
    );
    assert_eq!(stack.fake.calls(Endpoint::VideoInit), 0);
    stack.assert_nothing_leaked().await;
}

const PHOTOS: [&str; 2] = [
    "https://media.example.com/photos/1.jpg",
    "https://media.example.com/photos/2.webp",
];

fn photo_post(mode: &str, privacy: &str) -> Value {
    let mut body = json!({
        "mode": mode,
        "media_type": "photo",
        "source": {"type": "url", "photo_urls": PHOTOS, "cover_index": 1},
        "post_info": {"title": "two #photos", "description": "a longer text", "privacy_level": privacy}
    });
    if mode == "inbox" {
        body["post_info"] = json!({"title": "two #photos"});
    }
    body
}

/// A public photo post: processing, complete, then (after TikTok's moderation) its public id,
/// with the post itself attached because the account granted `video.list`.
#[tokio::test]
async fn a_public_photo_post_gets_its_id_after_moderation_with_the_post_attached() {
    let stack = stack_with(ALICE, None).await;
    let (code, started) = answer(
        &stack
            .post_publish(
                USER,
                &photo_post("direct", "PUBLIC_TO_EVERYONE"),
                Some("photo-1"),
            )
            .await,
    );
    assert_eq!(code, 202, "{started}");
    assert_eq!(
        (started["media_type"].as_str(), started["status"].as_str()),
        (Some("photo"), Some("PROCESSING_DOWNLOAD"))
    );
    assert!(started.get("upload").is_none());
    let publish_id = started["publish_id"].as_str().expect("id").to_owned();
    let sent = stack.fake.publishes(ALICE);
    assert_eq!(sent.len(), 1, "one post at TikTok: {sent:?}");

    stack.fake.advance_clock(10);
    let done = status(&stack, &publish_id).await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["media_type"].as_str(),
            done["post_ids"].clone()
        ),
        (Some("PUBLISH_COMPLETE"), Some("photo"), json!([])),
        "complete, not yet moderated: {done}"
    );
    // Still worth asking while the public id is awaited.
    stack.fake.advance_clock(60);
    let public = status(&stack, &publish_id).await;
    assert_eq!(public["checked"], "tiktok", "{public}");
    let post_id = public["post_ids"][0]
        .as_str()
        .expect("the public id")
        .to_owned();
    let videos = public["videos"]
        .as_array()
        .expect("attached: video.list granted");
    assert_eq!(videos.len(), 1, "{public}");
    assert_eq!(videos[0]["id"], post_id.as_str());
    assert!(
        videos[0]["share_url"]
            .as_str()
            .is_some_and(|u| u.contains(&post_id))
    );
    // Settled now: stored status, the post still attached.
    let fetches = stack.fake.calls(Endpoint::StatusFetch);
    let again = status(&stack, &publish_id).await;
    assert_eq!(
        (again["checked"].as_str(), again["videos"][0]["id"].as_str()),
        (Some("stored"), Some(post_id.as_str()))
    );
    assert_eq!(stack.fake.calls(Endpoint::StatusFetch), fetches);
    // With cached=true nothing is asked of TikTok, so nothing is attached.
    let (_, cached) = answer(&stack.get_publish(USER, &publish_id, "cached=true").await);
    assert!(cached.get("videos").is_none(), "{cached}");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_photo_post_to_the_inbox_waits_for_the_creator() {
    let stack = stack_with(BOB, None).await;
    let (code, started) = answer(
        &stack
            .post_publish(USER, &photo_post("inbox", ""), None)
            .await,
    );
    assert_eq!(code, 202, "{started}");
    let publish_id = started["publish_id"].as_str().expect("id").to_owned();
    stack.fake.advance_clock(10);
    let inbox = status(&stack, &publish_id).await;
    assert_eq!(
        (
            inbox["status"].as_str(),
            inbox["mode"].as_str(),
            inbox["media_type"].as_str()
        ),
        (Some("SEND_TO_USER_INBOX"), Some("inbox"), Some("photo")),
        "{inbox}"
    );
    stack.assert_nothing_leaked().await;
}

/// Every photo rule answers a precise 400 before TikTok is called.
#[tokio::test]
async fn bad_photo_posts_are_refused_before_tiktok() {
    let stack = stack_with(ALICE, None).await;
    let many: Vec<String> = (0..36)
        .map(|i| format!("https://media.example.com/p/{i}.jpg"))
        .collect();
    let mut too_many = photo_post("direct", "SELF_ONLY");
    too_many["source"]["photo_urls"] = json!(many);
    let mut png = photo_post("direct", "SELF_ONLY");
    png["source"]["photo_urls"][0] = json!("https://media.example.com/photos/1.png");
    let mut long_title = photo_post("direct", "SELF_ONLY");
    long_title["post_info"]["title"] = json!("t".repeat(91));
    let mut cover = photo_post("direct", "SELF_ONLY");
    cover["source"]["cover_index"] = json!(2);
    let mut not_offered = photo_post("direct", "PUBLIC_TO_EVERYONE");
    not_offered["post_info"]["disable_comment"] = json!(true);
    let cases = [
        (too_many, "1 to 35"),
        (png, "JPEG or WebP"),
        (long_title, "90 UTF-16"),
        (cover, "cover_index"),
    ];
    for (body, expected) in cases {
        let (code, answer_body) = answer(&stack.post_publish(USER, &body, None).await);
        assert_eq!(
            (code, answer_body["error"].as_str()),
            (400, Some("invalid_request")),
            "{answer_body}"
        );
        let message = answer_body["message"].as_str().expect("message");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // Bob is private: PUBLIC_TO_EVERYONE is not among his options (checked with creator info).
    let bob = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    bob.connect_account(USER, BOB, None).await;
    let (code, body) = answer(
        &bob.post_publish(USER, &photo_post("direct", "PUBLIC_TO_EVERYONE"), None)
            .await,
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("privacy_level")),
        "{body}"
    );
    assert_eq!(stack.fake.calls(Endpoint::VideoInit), 0);
    assert_eq!(bob.fake.calls(Endpoint::VideoInit), 0);
    stack.assert_nothing_leaked().await;
}

/// `GET /tiktok/videos?ids=`: TikTok's video query, ids as strings, unknown ids absent.
#[tokio::test]
async fn videos_by_id_come_in_the_order_asked_and_unknown_ids_are_absent() {
    let stack = stack_with(ALICE, None).await;
    let (code, page) = answer(&stack.get_videos(USER, "max_count=20").await);
    assert_eq!(code, 200, "{page}");
    let ids: Vec<String> = page["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| v["id"].as_str().expect("string ids").to_owned())
        .collect();
    assert!(ids.len() >= 2, "{page}");
    let asked = format!("ids={},{},7000000000000000001", ids[1], ids[0]);
    let (code, found) = answer(&stack.get_videos(USER, &asked).await);
    assert_eq!(code, 200, "{found}");
    let got: Vec<&str> = found["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [ids[1].as_str(), ids[0].as_str()], "{found}");
    assert_eq!(
        (found["cursor"].clone(), found["has_more"].clone()),
        (Value::Null, json!(false))
    );
    assert!(
        found["videos"][0]
            .get("is_aigc")
            .is_some_and(Value::is_boolean),
        "{found}"
    );
    let one = format!("ids={}", ids[0]);
    assert_eq!(
        answer(&stack.get_videos(USER, &one).await).1["videos"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let twenty: Vec<String> = (1..=20)
        .map(|i| format!("70000000000000000{i:02}"))
        .collect();
    let (code, none) = answer(
        &stack
            .get_videos(USER, &format!("ids={}", twenty.join(",")))
            .await,
    );
    assert_eq!(
        (code, none["videos"].clone()),
        (200, json!([])),
        "20 unknown ids"
    );
    let calls = stack.fake.calls(Endpoint::VideoQuery);
    for bad in [
        "ids=".to_owned(),
        format!("ids={},7000000000000000021", twenty.join(",")),
        "ids=12a".to_owned(),
        format!("ids={}&cursor=5", ids[0]),
    ] {
        let (code, body) = answer(&stack.get_videos(USER, &bad).await);
        assert_eq!(
            (code, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    assert_eq!(
        stack.fake.calls(Endpoint::VideoQuery),
        calls,
        "refused before TikTok"
    );
    stack.assert_nothing_leaked().await;
}

/// Creator info's `posting` says whether a post can start now, why not, whose limit it is and
/// when to try again: this minute's inits (the account's), the inbox's 5 pending uploads (the
/// account's; Direct Post still works), an unaudited app (the app's).
#[tokio::test]
async fn creator_info_says_whether_the_account_can_post_now() {
    let stack = stack_with(ALICE, None).await;
    assert_eq!(posting(&stack).await, json!({"can_post": true}));
    // Five uploads to the inbox within 24 hours: TikTok keeps no more pending.
    let inbox = json!({"mode": "inbox", "source": {"type": "url", "video_url": VIDEO_URL}});
    for _ in 0..5 {
        let (code, body) = answer(&stack.post_publish(USER, &inbox, None).await);
        assert_eq!(code, 202, "{body}");
    }
    stack.clock.advance(60);
    let full = posting(&stack).await;
    assert_eq!(
        (
            full["can_post"].as_bool(),
            full["reason"].as_str(),
            full["limit_of"].as_str()
        ),
        (
            Some(true),
            Some("spam_risk_too_many_pending_share"),
            Some("account")
        ),
        "{full}"
    );
    let retry_after = full["retry_after"].as_i64().expect("retry_after");
    assert!((86_000..=86_400).contains(&retry_after), "{full}");
    stack.clock.advance(retry_after);
    assert_eq!(
        posting(&stack).await,
        json!({"can_post": true}),
        "free again after retry_after"
    );

    // An unaudited app may post only to private accounts: Alice's is public. The app's limit.
    stack.fake.set_unaudited(true);
    let (code, refused) = answer(
        &stack
            .post_publish(USER, &direct_from_url("SELF_ONLY"), None)
            .await,
    );
    assert_eq!(
        (code, refused["error"].as_str()),
        (
            403,
            Some("unaudited_client_can_only_post_to_private_accounts")
        ),
        "{refused}"
    );
    let unaudited = posting(&stack).await;
    assert_eq!(
        (
            unaudited["can_post"].as_bool(),
            unaudited["reason"].as_str(),
            unaudited["limit_of"].as_str()
        ),
        (
            Some(false),
            Some("unaudited_client_can_only_post_to_private_accounts"),
            Some("app")
        ),
        "{unaudited}"
    );
    // The app passes its audit: its next public post goes through, and `posting` forgets the
    // refusal at once instead of a day later.
    stack.fake.set_unaudited(false);
    stack.clock.advance(60);
    let (code, body) = answer(
        &stack
            .post_publish(USER, &direct_from_url("PUBLIC_TO_EVERYONE"), None)
            .await,
    );
    assert_eq!(code, 202, "{body}");
    assert_eq!(posting(&stack).await, json!({"can_post": true}));
    stack.assert_nothing_leaked().await;
}

/// Creator info's `posting` part.
async fn posting(stack: &Stack) -> Value {
    let (code, body) = answer(&stack.get_publish(USER, "creator-info", "").await);
    assert_eq!(code, 200, "{body}");
    body["posting"].clone()
}
