//! Content Posting API: creator info, video/inbox init, chunked upload, status, cancel, scripts.

use std::time::Duration;

use fake_tiktok::{Endpoint, Failure, FakeConfig, PostingBlock, PublishType};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::common::*;

const MIB: u64 = 1024 * 1024;

fn file_source(size: u64, chunk: u64, count: u64) -> Value {
    json!({ "source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count })
}

fn file_post(size: u64, chunk: u64, count: u64) -> Value {
    json!({
        "post_info": { "privacy_level": "SELF_ONLY", "disable_duet": true },
        "source_info": file_source(size, chunk, count),
    })
}

async fn put_chunk(
    env: &Env,
    upload_url: &str,
    content_type: &str,
    range: Option<String>,
    len: u64,
) -> reqwest::Response {
    let mut req = env
        .http
        .put(upload_url)
        .header(header::CONTENT_TYPE, content_type)
        .body(vec![0u8; usize::try_from(len).expect("len")]);
    if let Some(range) = range {
        req = req.header(header::CONTENT_RANGE, range);
    }
    req.send().await.expect("put")
}

fn content_range(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn creator_info_public_and_private_accounts() {
    let env = env().await;
    let (status, body) = env
        .api(CREATOR_INFO, &posting_token(&env, ALICE), json!({}))
        .await;
    assert_eq!((status, err_code(&body)), (StatusCode::OK, "ok"), "{body}");
    let data = &body["data"];
    assert_eq!(
        data["privacy_level_options"],
        json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(data["creator_username"], "alice.dances");
    assert_eq!(data["creator_nickname"], "Alice Dancer");
    assert_eq!(data["max_video_post_duration_sec"], 600);
    assert_eq!(
        (
            &data["comment_disabled"],
            &data["duet_disabled"],
            &data["stitch_disabled"]
        ),
        (&json!(false), &json!(false), &json!(false))
    );
    assert!(s(data, "creator_avatar_url").starts_with("https://"));

    // Bob is the seeded private account.
    let (_, body) = env
        .api(CREATOR_INFO, &posting_token(&env, BOB), json!({}))
        .await;
    let data = &body["data"];
    assert_eq!(
        data["privacy_level_options"],
        json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(
        (&data["duet_disabled"], &data["stitch_disabled"]),
        (&json!(true), &json!(true))
    );

    // Scope, then token.
    let upload_only = env.fake.mint_grant(ALICE, &["video.upload"]).access_token;
    let (status, body) = env.api(CREATOR_INFO, &upload_only, json!({})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    let (status, body) = env.api(CREATOR_INFO, "act.nope", json!({})).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
}

#[tokio::test]
async fn posting_blocks_are_http_200_at_creator_info_and_403_at_init() {
    let env = env().await;
    for block in [
        PostingBlock::TooManyPosts,
        PostingBlock::BannedFromPosting,
        PostingBlock::ActiveUserCap,
    ] {
        assert!(env.fake.set_posting_block(ALICE, Some(block)));
        let token = posting_token(&env, ALICE);
        let (status, body) = env.api(CREATOR_INFO, &token, json!({})).await;
        assert_error(status, &body, StatusCode::OK, block.code());
        let (status, body) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, block.code());
        let inbox = json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } });
        let (status, body) = env.api(INBOX, &token, inbox).await;
        assert_error(status, &body, StatusCode::FORBIDDEN, block.code());
    }
    // Over the control API: lift the block.
    let (status, _) = env
        .post_control(
            "/_fake/users/open-alice-0001/posting-block",
            json!({"block": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = init_once(&env, DIRECT, url_post("SELF_ONLY")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.fake.posts_created(ALICE), 1);
    let (status, _) = env
        .post_control(
            "/_fake/users/open-alice-0001/posting-block",
            json!({"block": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn chunk_rules_accept_valid_plans() {
    let env = env().await;
    for (size, chunk, count) in [
        (12 * MIB, 5 * MIB, 2),
        (1_000, 1_000, 1),
        (50_000_123, 10_000_000, 5),
        (5 * MIB, 5 * MIB, 1),
        (64 * MIB, 64 * MIB, 1),
        (4 * 1024 * MIB, 64 * MIB, 64),
    ] {
        let (status, body) = init_once(&env, DIRECT, file_post(size, chunk, count)).await;
        assert_eq!(status, StatusCode::OK, "{size}/{chunk}/{count}: {body}");
        let id = s(&body["data"], "publish_id");
        assert!(
            id.starts_with("v_pub_file~v2-1.") && id.len() == 16 + 19,
            "{id}"
        );
        let upload_url = s(&body["data"], "upload_url");
        assert!(
            upload_url.starts_with(&format!("{}/upload/?upload_id=", env.fake.base_url()))
                && upload_url.contains("&upload_token="),
            "{upload_url}"
        );
    }
    let (status, body) = init_once(
        &env,
        INBOX,
        json!({ "source_info": file_source(12 * MIB, 5 * MIB, 2) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(s(&body["data"], "publish_id").starts_with("v_inbox_file~v2."));
    let (_, body) = init_once(
        &env,
        INBOX,
        json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } }),
    )
    .await;
    assert!(s(&body["data"], "publish_id").starts_with("v_inbox_url~v2."));
    assert!(body["data"].get("upload_url").is_none());
    assert_eq!(env.fake.posts_created(ALICE), 8);
}

#[tokio::test]
async fn chunk_rules_refuse_each_violation() {
    let env = env().await;
    for (size, chunk, count, needle) in [
        (0, 1, 1, "video_size must be a positive"),
        (4 * 1024 * MIB + 1, 64 * MIB, 64, "at most 4294967296"),
        (1_000, 500, 2, "chunk_size must equal video_size"),
        (1_000, 1_000, 2, "total_chunk_count must be 1"),
        (20 * MIB, 4 * MIB, 5, "between 5242880 (5 MB) and 67108864"),
        (
            200 * MIB,
            65 * MIB,
            3,
            "between 5242880 (5 MB) and 67108864",
        ),
        (12 * MIB, 5 * MIB, 3, "floor(video_size / chunk_size) = 2"),
        (100 * MIB, 64 * MIB, 1, "at least 2 chunks"),
        (12 * MIB, 5 * MIB, 0, "between 1 and 1000"),
        (12 * MIB, 5 * MIB, 1001, "between 1 and 1000"),
    ] {
        let (status, body) = init_once(&env, DIRECT, file_post(size, chunk, count)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        let message = s(&body["error"], "message");
        assert!(
            message.contains(needle),
            "{size}/{chunk}/{count}: {message}"
        );
    }
    let missing = json!({
        "post_info": { "privacy_level": "SELF_ONLY" },
        "source_info": { "source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000 },
    });
    let (status, body) = init_once(&env, DIRECT, missing).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert!(s(&body["error"], "message").contains("total_chunk_count is required"));
    let stringly = json!({
        "post_info": { "privacy_level": "SELF_ONLY" },
        "source_info": { "source": "FILE_UPLOAD", "video_size": "1000", "chunk_size": 1000, "total_chunk_count": 1 },
    });
    let (status, body) = init_once(&env, DIRECT, stringly).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    assert_eq!(env.fake.posts_created(ALICE), 0);
}

#[tokio::test]
async fn init_validates_post_info_and_source() {
    let env = env().await;
    let with_info = |info: Value| {
        json!({
            "post_info": info,
            "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL },
        })
    };
    // 1100 emoji = 2200 UTF-16 code units: the limit exactly.
    let ok_title = "😀".repeat(1_100);
    let (status, body) = init_once(
        &env,
        DIRECT,
        with_info(json!({"title": ok_title, "privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": 1000, "is_aigc": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for info in [
        json!({"title": "😀".repeat(1_101), "privacy_level": "SELF_ONLY"}),
        json!({"title": 5, "privacy_level": "SELF_ONLY"}),
        json!({"privacy_level": "SELF_ONLY", "disable_comment": "true"}),
        json!({"privacy_level": "SELF_ONLY", "disable_duet": 1}),
        json!({"privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": 1.5}),
        json!({"privacy_level": "SELF_ONLY", "video_cover_timestamp_ms": "1000"}),
        json!({"privacy_level": 3}),
        json!("SELF_ONLY"),
    ] {
        let (status, body) = init_once(&env, DIRECT, with_info(info)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    for source in [
        json!(null),
        json!({ "source": "UPLOAD" }),
        json!({ "source": "PULL_FROM_URL" }),
        json!({ "source": "PULL_FROM_URL", "video_url": "not a url" }),
    ] {
        let body = json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": source });
        let (status, body) = init_once(&env, DIRECT, body).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    }
    // Privacy: missing, or not among the creator's options.
    for info in [
        json!({"title": "x"}),
        json!({"privacy_level": "FOLLOWER_OF_CREATOR"}),
        json!({"privacy_level": "EVERYONE"}),
    ] {
        let (status, body) = init_once(&env, DIRECT, with_info(info)).await;
        assert_error(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "privacy_level_option_mismatch",
        );
    }
    // URL ownership.
    for url in [
        "http://media.example.com/videos/cat.mp4",
        "https://203.0.113.7/videos/cat.mp4",
        "https://evil.example.net/cat.mp4",
        "https://media.example.com.evil.net/cat.mp4",
    ] {
        let body = json!({
            "post_info": { "privacy_level": "SELF_ONLY" },
            "source_info": { "source": "PULL_FROM_URL", "video_url": url },
        });
        let (status, body) = init_once(&env, DIRECT, body).await;
        assert_error(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "url_ownership_unverified",
        );
    }
    // Not JSON.
    let resp = env
        .http
        .post(env.url(DIRECT))
        .bearer_auth(posting_token(&env, ALICE))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(url_post("SELF_ONLY").to_string())
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    // Inbox: only source_info, and the video.upload scope.
    let (status, body) = init_once(&env, INBOX, url_post("SELF_ONLY")).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
    let publish_only = env.fake.mint_grant(ALICE, &["video.publish"]).access_token;
    let (status, body) = env
        .api(
            INBOX,
            &publish_only,
            json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_eq!(env.fake.posts_created(ALICE), 1);

    // Gateway 404s.
    let resp = env
        .http
        .post(env.url("/v2/post/publish/video/init"))
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.text().await.expect("text"), "Unsupported path(Janus)");
    let resp = env.http.get(env.url(DIRECT)).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn direct_url_post_goes_to_complete_with_a_public_post_id() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    let (status, body) = env
        .api(DIRECT, &token, url_post("PUBLIC_TO_EVERYONE"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = s(&body["data"], "publish_id").to_owned();
    assert!(id.starts_with("v_pub_url~v2."), "{id}");

    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PROCESSING_DOWNLOAD");
    assert_eq!(data["downloaded_bytes"], 0);
    assert_eq!(data["publicaly_available_post_id"], json!([]));

    // Complete after processing, but the post id only comes once moderation is over.
    env.fake.advance_clock(5);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE");
    assert_eq!(data["publicaly_available_post_id"], json!([]));
    env.fake.advance_clock(20);
    let resp = env
        .http
        .post(env.url(STATUS))
        .bearer_auth(&token)
        .json(&json!({ "publish_id": id }))
        .send()
        .await
        .expect("status");
    let raw = resp.text().await.expect("text");
    let body: Value = serde_json::from_str(&raw).expect("json");
    let data = &body["data"];
    assert_eq!(data["status"], "PUBLISH_COMPLETE", "{body}");
    assert!(data["downloaded_bytes"].as_u64() > Some(0));
    let post_id = data["publicaly_available_post_id"][0]
        .as_u64()
        .expect("a JSON number");
    assert!(post_id > 1 << 53, "{post_id}");
    assert!(
        raw.contains(&format!("[{post_id}]")),
        "a bare number: {raw}"
    );

    // Another user's token; an unknown id; cancel once final.
    let (status, body) = env
        .api(
            STATUS,
            &posting_token(&env, BOB),
            json!({ "publish_id": id }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "token_not_authorized_for_specified_publish_id",
    );
    let (status, body) = env
        .api(STATUS, &token, json!({ "publish_id": "v_pub_url~v2.1" }))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_publish_id");
    let (status, body) = env.api(CANCEL, &token, json!({ "publish_id": id })).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "publish_not_cancellable",
    );

    let publishes = env.fake.publishes(ALICE);
    assert_eq!(publishes.len(), 1);
    assert_eq!(publishes[0].publish_type, PublishType::DirectPublish);
    assert_eq!(
        publishes[0].privacy_level.as_deref(),
        Some("PUBLIC_TO_EVERYONE")
    );
    assert_eq!(publishes[0].post_info["title"], "a #cat");
    assert_eq!(env.fake.posts_created(ALICE), 1);
}

#[tokio::test]
async fn file_upload_in_two_chunks() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    let total = 12 * MIB;
    let (status, body) = env.api(DIRECT, &token, file_post(total, 5 * MIB, 2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = s(&body["data"], "publish_id").to_owned();
    let upload_url = s(&body["data"], "upload_url").to_owned();

    // Out of order: the second chunk first.
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some(format!("bytes {}-{}/{total}", 5 * MIB, total - 1)),
        7 * MIB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(content_range(&resp), Some(format!("bytes */{total}")));

    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some(format!("bytes 0-{}/{total}", 5 * MIB - 1)),
        5 * MIB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        content_range(&resp),
        Some(format!("bytes 0-{}/{total}", 5 * MIB - 1))
    );
    let data = status_of(&env, &token, &id).await;
    assert_eq!(
        (&data["status"], &data["uploaded_bytes"]),
        (&json!("PROCESSING_UPLOAD"), &json!(5 * MIB))
    );

    // The same chunk again.
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some(format!("bytes 0-{}/{total}", 5 * MIB - 1)),
        5 * MIB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        content_range(&resp),
        Some(format!("bytes 0-{}/{total}", 5 * MIB - 1))
    );

    // The last chunk absorbs the trailing bytes: 7 MiB.
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/quicktime",
        Some(format!("bytes {}-{}/{total}", 5 * MIB, total - 1)),
        7 * MIB,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        content_range(&resp),
        Some(format!("bytes 0-{}/{total}", total - 1))
    );

    let data = status_of(&env, &token, &id).await;
    assert_eq!(
        (&data["status"], &data["uploaded_bytes"]),
        (&json!("PROCESSING_UPLOAD"), &json!(total))
    );
    env.fake.advance_clock(5);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE");
    // SELF_ONLY: never publicly available.
    assert_eq!(data["publicaly_available_post_id"], json!([]));
    assert_eq!(env.fake.calls(Endpoint::Upload), 4);
}

#[tokio::test]
async fn upload_refusals() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    let (_, body) = env.api(DIRECT, &token, file_post(1_000, 1_000, 1)).await;
    let id = s(&body["data"], "publish_id").to_owned();
    let upload_url = s(&body["data"], "upload_url").to_owned();
    let range = || Some("bytes 0-999/1000".to_owned());

    let resp = put_chunk(
        &env,
        &upload_url,
        "application/octet-stream",
        range(),
        1_000,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = put_chunk(&env, &upload_url, "video/mp4", None, 1_000).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some("bytes 0-999".into()),
        1_000,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Body shorter than the range.
    let resp = put_chunk(&env, &upload_url, "video/mp4", range(), 999).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Wrong total.
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some("bytes 0-999/2000".into()),
        1_000,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // Wrong token, unknown upload, no query.
    let forged = format!("{}x", upload_url);
    assert_eq!(
        put_chunk(&env, &forged, "video/mp4", range(), 1_000)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let unknown = env.url("/upload/?upload_id=1&upload_token=x");
    assert_eq!(
        put_chunk(&env, &unknown, "video/mp4", range(), 1_000)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put_chunk(&env, &env.url("/upload/"), "video/mp4", range(), 1_000)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // An hour later the URL is dead and the publish failed.
    env.fake.advance_clock(3_600);
    let resp = put_chunk(&env, &upload_url, "video/mp4", range(), 1_000).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(
        (&data["status"], &data["fail_reason"]),
        (&json!("FAILED"), &json!("internal"))
    );
}

#[tokio::test]
async fn seventh_init_in_a_minute_is_rate_limited() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    for i in 0..6 {
        let (status, body) = if i % 2 == 0 {
            env.api(DIRECT, &token, url_post("SELF_ONLY")).await
        } else {
            env.api(
                INBOX,
                &token,
                json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } }),
            )
            .await
        };
        assert_eq!(status, StatusCode::OK, "init {i}: {body}");
    }
    let (status, body) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    assert_eq!(env.fake.posts_created(ALICE), 6);
    // Per token, and per minute of fake time.
    let (status, _) = init_once(&env, DIRECT, url_post("SELF_ONLY")).await;
    assert_eq!(status, StatusCode::OK);
    env.fake.advance_clock(60);
    let (status, _) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unaudited_client_posts_only_to_private_accounts_of_five_users() {
    let env = env().await;
    env.fake.set_unaudited(true);
    let (status, body) = init_once(&env, DIRECT, url_post("PUBLIC_TO_EVERYONE")).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // Bob is private: allowed, but the post is forced to SELF_ONLY.
    let (status, body) = env
        .api(
            DIRECT,
            &posting_token(&env, BOB),
            url_post("FOLLOWER_OF_CREATOR"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        env.fake.publishes(BOB)[0].privacy_level.as_deref(),
        Some("SELF_ONLY")
    );

    for i in 1..=5 {
        let user = format!("private-{i}");
        let token = posting_token(&env, &user);
        assert!(env.fake.set_private_account(&user, true));
        let (status, body) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
        if i < 5 {
            assert_eq!(status, StatusCode::OK, "{user}: {body}");
        } else {
            assert_error(
                status,
                &body,
                StatusCode::FORBIDDEN,
                "reached_active_user_cap",
            );
            let (status, body) = env.api(CREATOR_INFO, &token, json!({})).await;
            assert_error(status, &body, StatusCode::OK, "reached_active_user_cap");
        }
    }
    // One of the five may post again.
    let (status, _) = env
        .api(DIRECT, &posting_token(&env, BOB), url_post("SELF_ONLY"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Over the control API: audited again, Alice may post publicly.
    let (status, _) = env
        .post_control("/_fake/unaudited", json!({"unaudited": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = init_once(&env, DIRECT, url_post("PUBLIC_TO_EVERYONE")).await;
    assert_eq!(status, StatusCode::OK);
    // And a private account over the control API.
    let (status, _) = env
        .post_control(
            "/_fake/users/open-alice-0001/privacy",
            json!({"private": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = init_once(&env, DIRECT, url_post("PUBLIC_TO_EVERYONE")).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
}

#[tokio::test]
async fn daily_cap_and_pending_inbox_shares() {
    let env = env_with(FakeConfig {
        daily_post_cap: 2,
        ..FakeConfig::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            init_once(&env, DIRECT, url_post("SELF_ONLY")).await.0,
            StatusCode::OK
        );
    }
    let (status, body) = init_once(&env, DIRECT, url_post("SELF_ONLY")).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_posts",
    );
    let (status, body) = env
        .api(CREATOR_INFO, &posting_token(&env, ALICE), json!({}))
        .await;
    assert_error(status, &body, StatusCode::OK, "spam_risk_too_many_posts");

    let share = || json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } });
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (status, body) = init_once(&env, INBOX, share()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(s(&body["data"], "publish_id").to_owned());
    }
    let (status, body) = init_once(&env, INBOX, share()).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_pending_share",
    );
    // The user posts one from the inbox: room for one more.
    assert!(env.fake.complete_inbox_share(&ids[0]));
    assert_eq!(init_once(&env, INBOX, share()).await.0, StatusCode::OK);
    assert_eq!(env.fake.posts_created(ALICE), 8);
    // A day later everything is allowed again.
    env.fake.advance_clock(86_400);
    assert_eq!(
        init_once(&env, DIRECT, url_post("SELF_ONLY")).await.0,
        StatusCode::OK
    );
    assert_eq!(init_once(&env, INBOX, share()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn scripted_outcomes_and_cancel() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    // A scripted failure, Rust side.
    let (_, body) = env.api(DIRECT, &token, file_post(1_000, 1_000, 1)).await;
    let failing = s(&body["data"], "publish_id").to_owned();
    assert!(env.fake.fail_publish(&failing, "file_format_check_failed"));
    let data = status_of(&env, &token, &failing).await;
    assert_eq!(
        (
            &data["status"],
            &data["fail_reason"],
            &data["uploaded_bytes"]
        ),
        (
            &json!("FAILED"),
            &json!("file_format_check_failed"),
            &json!(0)
        )
    );
    assert!(!env.fake.fail_publish("v_pub_url~v2.0", "internal"));

    // Inbox share: delivered after processing, then posted by the user (control side).
    let (_, body) = env
        .api(
            INBOX,
            &token,
            json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } }),
        )
        .await;
    let share = s(&body["data"], "publish_id").to_owned();
    env.fake.advance_clock(5);
    assert_eq!(
        status_of(&env, &token, &share).await["status"],
        "SEND_TO_USER_INBOX"
    );
    let (status, _) = env
        .post_control(&format!("/_fake/publishes/{share}/complete"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        status_of(&env, &token, &share).await["status"],
        "PUBLISH_COMPLETE"
    );
    let (status, _) = env
        .post_control(&format!("/_fake/publishes/{failing}/complete"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a direct post");

    // Control-side failure, and cancel while processing.
    let (_, body) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
    let pulled = s(&body["data"], "publish_id").to_owned();
    let (status, _) = env
        .post_control(
            &format!("/_fake/publishes/{pulled}/fail"),
            json!({"reason": "video_pull_failed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        status_of(&env, &token, &pulled).await["fail_reason"],
        "video_pull_failed"
    );
    let (status, _) = env
        .post_control("/_fake/publishes/v_x/fail", json!({"reason": "internal"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, body) = env.api(DIRECT, &token, file_post(1_000, 1_000, 1)).await;
    let cancelled = s(&body["data"], "publish_id").to_owned();
    let upload_url = s(&body["data"], "upload_url").to_owned();
    let (status, body) = env
        .api(CANCEL, &token, json!({ "publish_id": cancelled }))
        .await;
    assert_eq!((status, err_code(&body)), (StatusCode::OK, "ok"), "{body}");
    let data = status_of(&env, &token, &cancelled).await;
    assert_eq!(
        (&data["status"], &data["fail_reason"]),
        (&json!("FAILED"), &json!("publish_cancelled"))
    );
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some("bytes 0-999/1000".into()),
        1_000,
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "no upload task after cancel"
    );

    let listed = env
        .get_control("/_fake/users/open-alice-0001/publishes")
        .await;
    assert_eq!(listed["created"], 4);
    assert_eq!(listed["publishes"][1]["publish_type"], "INBOX_SHARE");
    assert_eq!(listed["publishes"][1]["status"], "PUBLISH_COMPLETE");
}

#[tokio::test]
async fn timeout_on_video_init_still_creates_the_post() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    env.fake.fail_next(
        Endpoint::VideoInit,
        Failure::Timeout(Duration::from_millis(600)),
        1,
    );
    let err = env
        .http
        .post(env.url(DIRECT))
        .bearer_auth(&token)
        .json(&url_post("SELF_ONLY"))
        .timeout(Duration::from_millis(150))
        .send()
        .await
        .expect_err("the client gives up");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        env.fake.posts_created(ALICE),
        1,
        "TikTok created the post anyway"
    );
    assert_eq!(env.fake.calls(Endpoint::VideoInit), 1);
}

#[tokio::test]
async fn faults_and_counters_cover_the_posting_endpoints() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    env.fake
        .fail_next(Endpoint::CreatorInfo, Failure::Status500, 1);
    let (status, body) = env.api(CREATOR_INFO, &token, json!({})).await;
    assert_error(
        status,
        &body,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
    );

    let (status, _) = env
        .post_control(
            "/_fake/fail",
            json!({"endpoint":"video_init","failure":{"type":"status429"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        env.fake.posts_created(ALICE),
        0,
        "a short-circuit fault has no effect"
    );

    let (_, body) = env.api(DIRECT, &token, file_post(1_000, 1_000, 1)).await;
    let id = s(&body["data"], "publish_id").to_owned();
    let upload_url = s(&body["data"], "upload_url").to_owned();
    env.post_control(
        "/_fake/fail",
        json!({"endpoint":"upload","failure":{"type":"status500"}}),
    )
    .await;
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some("bytes 0-999/1000".into()),
        1_000,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let resp = put_chunk(
        &env,
        &upload_url,
        "video/mp4",
        Some("bytes 0-999/1000".into()),
        1_000,
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "the retry of the chunk works"
    );

    env.post_control(
        "/_fake/fail",
        json!({"endpoint":"status_fetch","failure":{"type":"malformed_json"}}),
    )
    .await;
    let resp = env
        .http
        .post(env.url(STATUS))
        .bearer_auth(&token)
        .json(&json!({ "publish_id": id }))
        .send()
        .await
        .expect("status");
    assert!(resp.json::<Value>().await.is_err());

    let calls = env.get_control("/_fake/calls").await;
    assert_eq!(
        (
            &calls["creator_info"],
            &calls["video_init"],
            &calls["upload"],
            &calls["status_fetch"],
            &calls["publish_cancel"]
        ),
        (&json!(1), &json!(2), &json!(2), &json!(1), &json!(0))
    );
}
