//! Photo posts: `POST /v2/post/publish/content/init/`, Direct Post and inbox, validation, the
//! format check at processing, and the limits shared with the video inits.

use fake_tiktok::{Endpoint, FakeConfig, PostingBlock, PublishType};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::receiver::*;

const IMAGES: &str = "https://media.example.com/photos/";

/// `n` verified image URLs ending in `.ext`.
fn images(n: usize, ext: &str) -> Vec<String> {
    (0..n).map(|i| format!("{IMAGES}{i}.{ext}")).collect()
}

/// A photo init body: title and description set, `privacy_level` only when given.
fn photo_post(mode: &str, privacy: Option<&str>, images: &[String], cover: usize) -> Value {
    let mut info = json!({ "title": "Weekend 📸", "description": "Three shots #photo" });
    if let Some(privacy) = privacy {
        info["privacy_level"] = json!(privacy);
    }
    json!({
        "media_type": "PHOTO",
        "post_mode": mode,
        "post_info": info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_images": images,
            "photo_cover_index": cover,
        },
    })
}

fn direct(images: &[String]) -> Value {
    photo_post("DIRECT_POST", Some("SELF_ONLY"), images, 0)
}

/// Each body must be refused with `want` and `code` (and create nothing).
async fn assert_refused(env: &Env, bodies: Vec<Value>, want: StatusCode, code: &str) {
    let before = env.fake.posts_created(ALICE);
    for body in bodies {
        let (status, answer) = init_once(env, PHOTO, body.clone()).await;
        assert_error(status, &answer, want, code);
        assert_eq!(env.fake.posts_created(ALICE), before, "{body}");
    }
}

#[tokio::test]
async fn photo_direct_post_goes_to_complete() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    let list = vec![
        format!("{IMAGES}a.jpg"),
        format!("{IMAGES}b.JPEG"),
        format!("{IMAGES}c.webp?size=large"),
    ];
    let (status, body) = env
        .api(
            PHOTO,
            &token,
            photo_post("DIRECT_POST", Some("SELF_ONLY"), &list, 2),
        )
        .await;
    assert_eq!((status, err_code(&body)), (StatusCode::OK, "ok"), "{body}");
    let id = s(&body["data"], "publish_id").to_owned();
    assert!(
        id.starts_with("p_pub_url~v2.") && id.len() == 13 + 19,
        "{id}"
    );
    assert!(id[13..].bytes().all(|b| b.is_ascii_digit()), "{id}");
    assert_eq!(
        body["data"].as_object().map(|o| o.len()),
        Some(1),
        "no upload_url: {body}"
    );

    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PROCESSING_DOWNLOAD");
    assert_eq!(data["downloaded_bytes"], 0);
    assert_eq!(data["publicaly_available_post_id"], json!([]));
    env.fake.advance_clock(5);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE", "{data}");
    assert!(data["downloaded_bytes"].as_u64() > Some(0));
    assert_eq!(data["publicaly_available_post_id"], json!([]), "SELF_ONLY");
    let (status, body) = env.api(CANCEL, &token, json!({ "publish_id": id })).await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "publish_not_cancellable",
    );

    let publishes = env.fake.publishes(ALICE);
    assert_eq!(publishes.len(), 1);
    let p = &publishes[0];
    assert_eq!(
        (p.publish_type, p.media_type.as_str(), p.source.as_str()),
        (PublishType::DirectPublish, "PHOTO", "PULL_FROM_URL")
    );
    assert_eq!((&p.photo_images, p.photo_cover_index), (&list, Some(2)));
    assert_eq!(p.privacy_level.as_deref(), Some("SELF_ONLY"));
    assert_eq!(p.post_info["description"], "Three shots #photo");
    let listed = env
        .get_control("/_fake/users/open-alice-0001/publishes")
        .await;
    let shown = &listed["publishes"][0];
    assert_eq!(
        (
            &shown["media_type"],
            &shown["photo_cover_index"],
            &shown["status"]
        ),
        (&json!("PHOTO"), &json!(2), &json!("PUBLISH_COMPLETE"))
    );
    assert_eq!(shown["photo_images"], json!(list));
    assert_eq!(
        env.fake.calls(Endpoint::VideoInit),
        1,
        "counted as video_init"
    );
}

#[tokio::test]
async fn photo_media_upload_goes_to_the_inbox_then_complete() {
    let (env, inbox) = env_hooked_once().await;
    let upload_only = env.fake.mint_grant(ALICE, &["video.upload"]).access_token;
    let publish_only = env.fake.mint_grant(ALICE, &["video.publish"]).access_token;
    let body = photo_post("MEDIA_UPLOAD", None, &images(2, "jpg"), 1);
    // The scope follows post_mode.
    let (status, answer) = env.api(PHOTO, &publish_only, body.clone()).await;
    assert_error(
        status,
        &answer,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    let (status, answer) = env
        .api(PHOTO, &upload_only, direct(&images(1, "jpg")))
        .await;
    assert_error(
        status,
        &answer,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );

    let (status, answer) = env.api(PHOTO, &upload_only, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = s(&answer["data"], "publish_id").to_owned();
    assert!(
        id.starts_with("p_inbox_url~v2.") && id.len() == 15 + 19,
        "{id}"
    );
    assert_eq!(
        status_of(&env, &upload_only, &id).await["status"],
        "PROCESSING_DOWNLOAD"
    );
    env.fake.advance_clock(5);
    assert_eq!(
        status_of(&env, &upload_only, &id).await["status"],
        "SEND_TO_USER_INBOX"
    );
    let (status, _) = env
        .post_control(&format!("/_fake/publishes/{id}/complete"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let data = status_of(&env, &upload_only, &id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE");
    assert_eq!(data["publicaly_available_post_id"], json!([]));

    let p = &env.fake.publishes(ALICE)[0];
    assert_eq!(
        (p.publish_type, p.privacy_level.as_deref()),
        (PublishType::InboxShare, None)
    );
    let inbox_share = json!({ "publish_id": id, "publish_type": "INBOX_SHARE" });
    assert_eq!(
        wait_for_event(&inbox, "post.publish.inbox_delivered", 1).await,
        vec![inbox_share.clone()]
    );
    assert_eq!(
        wait_for_event(&inbox, "post.publish.complete", 1).await,
        vec![inbox_share]
    );
}

#[tokio::test]
async fn photo_count_is_1_to_35() {
    let env = env().await;
    let (status, body) = init_once(&env, PHOTO, direct(&images(35, "jpg"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.fake.publishes(ALICE)[0].photo_images.len(), 35);
    for count in [0, 36] {
        let (status, body) = init_once(&env, PHOTO, direct(&images(count, "jpg"))).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_param");
        let message = s(&body["error"], "message");
        assert!(
            message.contains("photo_images must hold 1 to 35"),
            "{message}"
        );
    }
    assert_eq!(env.fake.posts_created(ALICE), 1);
}

#[tokio::test]
async fn photo_title_and_description_lengths_in_utf16_units() {
    let env = env().await;
    let with = |field: &str, text: String| {
        let mut body = direct(&images(1, "jpg"));
        body["post_info"][field] = json!(text);
        body
    };
    // An emoji is 2 UTF-16 code units: 45 of them and one letter make 91.
    let title_90 = "😀".repeat(45);
    let title_91 = format!("{title_90}a");
    let description_4000 = "😀".repeat(2_000);
    let description_4001 = format!("{description_4000}a");
    for ok in [
        with("title", title_90),
        with("description", description_4000),
    ] {
        let (status, body) = init_once(&env, PHOTO, ok).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_refused(
        &env,
        vec![
            with("title", title_91),
            with("description", description_4001),
        ],
        StatusCode::BAD_REQUEST,
        "invalid_param",
    )
    .await;
}

#[tokio::test]
async fn photo_cover_index_is_required_and_in_range() {
    let env = env().await;
    let with_cover = |cover: Value| {
        let mut body = direct(&images(3, "jpg"));
        body["source_info"]["photo_cover_index"] = cover;
        body
    };
    let (status, body) = init_once(&env, PHOTO, with_cover(json!(2))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut missing = direct(&images(3, "jpg"));
    missing["source_info"]
        .as_object_mut()
        .expect("object")
        .remove("photo_cover_index");
    assert_refused(
        &env,
        vec![
            with_cover(json!(3)),
            with_cover(json!(-1)),
            with_cover(json!("0")),
            with_cover(json!(1.5)),
            with_cover(Value::Null),
            missing,
        ],
        StatusCode::BAD_REQUEST,
        "invalid_param",
    )
    .await;
}

#[tokio::test]
async fn photo_body_shape_media_type_mode_and_source() {
    let env = env().await;
    let with = |path: &[&str], value: Value| {
        let mut body = direct(&images(1, "jpg"));
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    assert_refused(
        &env,
        vec![
            with(&["media_type"], json!("VIDEO")),
            with(&["media_type"], Value::Null),
            with(&["post_mode"], json!("DIRECT POST")),
            with(&["post_info"], Value::Null),
            with(&["post_info"], json!("SELF_ONLY")),
            with(&["post_info", "title"], json!(5)),
            with(&["post_info", "privacy_level"], json!(3)),
            with(&["post_info", "disable_comment"], json!("yes")),
            with(&["post_info", "auto_add_music"], json!(1)),
            with(&["source_info", "source"], json!("FILE_UPLOAD")),
            with(&["source_info"], Value::Null),
            with(
                &["source_info", "photo_images"],
                json!(format!("{IMAGES}0.jpg")),
            ),
            with(&["source_info", "photo_images"], json!([5])),
            with(&["source_info", "photo_images"], json!(["not a url"])),
            json!([]),
        ],
        StatusCode::BAD_REQUEST,
        "invalid_param",
    )
    .await;
    // Unknown fields and nulls are ignored, as on the video init.
    let lenient = with(&["post_info", "is_aigc"], json!("whatever"));
    let lenient = {
        let mut body = lenient;
        body["post_info"]["disable_comment"] = Value::Null;
        body["extra"] = json!({ "x": 1 });
        body
    };
    let (status, body) = init_once(&env, PHOTO, lenient).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn photo_urls_must_be_verified() {
    let env = env().await;
    for bad in [
        "https://evil.example.net/a.jpg",
        "http://media.example.com/photos/a.jpg",
        "https://203.0.113.7/photos/a.jpg",
        "https://media.example.com.evil.net/a.jpg",
    ] {
        let mut list = images(2, "jpg");
        list.push(bad.to_owned());
        assert_refused(
            &env,
            vec![direct(&list)],
            StatusCode::FORBIDDEN,
            "url_ownership_unverified",
        )
        .await;
    }
}

#[tokio::test]
async fn photo_privacy_must_be_one_of_the_creators_options() {
    let env = env().await;
    // Bob is private: PUBLIC_TO_EVERYONE is not offered to him.
    let bob = posting_token(&env, BOB);
    let one = images(1, "jpg");
    for privacy in [Some("PUBLIC_TO_EVERYONE"), Some("EVERYONE"), None] {
        let (status, body) = env
            .api(PHOTO, &bob, photo_post("DIRECT_POST", privacy, &one, 0))
            .await;
        assert_error(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "privacy_level_option_mismatch",
        );
    }
    let (status, body) = env
        .api(
            PHOTO,
            &bob,
            photo_post("DIRECT_POST", Some("FOLLOWER_OF_CREATOR"), &one, 0),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(env.fake.posts_created(BOB), 1);
}

#[tokio::test]
async fn png_photo_fails_the_format_check_at_processing() {
    let env = env().await;
    let token = posting_token(&env, ALICE);
    let mut list = images(2, "jpg");
    list.push(format!("{IMAGES}screenshot.PNG"));
    let (status, body) = env.api(PHOTO, &token, direct(&list)).await;
    assert_eq!(status, StatusCode::OK, "accepted at init: {body}");
    let direct_id = s(&body["data"], "publish_id").to_owned();
    let (_, body) = env
        .api(
            PHOTO,
            &token,
            photo_post("MEDIA_UPLOAD", None, &images(1, "png"), 0),
        )
        .await;
    let share_id = s(&body["data"], "publish_id").to_owned();
    assert_eq!(
        status_of(&env, &token, &direct_id).await["status"],
        "PROCESSING_DOWNLOAD"
    );
    env.fake.advance_clock(5);
    for id in [&direct_id, &share_id] {
        let data = status_of(&env, &token, id).await;
        assert_eq!(
            (&data["status"], &data["fail_reason"]),
            (&json!("FAILED"), &json!("file_format_check_failed")),
            "{id}: {data}"
        );
    }
}

#[tokio::test]
async fn photo_inits_share_the_rate_limit_and_the_caps_of_video_inits() {
    let env = env_with(FakeConfig {
        daily_post_cap: 2,
        ..FakeConfig::default()
    })
    .await;
    // One budget of 6 per minute for the three init endpoints.
    let token = posting_token(&env, ALICE);
    let share = json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": VIDEO_URL } });
    let one = images(1, "jpg");
    for (path, body) in [
        (DIRECT, url_post("SELF_ONLY")),
        (INBOX, share.clone()),
        (PHOTO, photo_post("MEDIA_UPLOAD", None, &one, 0)),
        (PHOTO, photo_post("MEDIA_UPLOAD", None, &one, 0)),
        (INBOX, share.clone()),
        (INBOX, share.clone()),
    ] {
        let (status, answer) = env.api(path, &token, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let (status, body) = env.api(PHOTO, &token, direct(&one)).await;
    assert_error(
        status,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    // Five pending inbox shares, photos and videos together.
    let (status, body) = init_once(&env, PHOTO, photo_post("MEDIA_UPLOAD", None, &one, 0)).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_pending_share",
    );
    // The daily Direct Post cap: one video and one photo, then neither.
    let (status, body) = init_once(&env, PHOTO, direct(&one)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (path, body) in [(PHOTO, direct(&one)), (DIRECT, url_post("SELF_ONLY"))] {
        let (status, answer) = init_once(&env, path, body).await;
        assert_error(
            status,
            &answer,
            StatusCode::FORBIDDEN,
            "spam_risk_too_many_posts",
        );
    }
    // A posting block and an unaudited client's public account.
    assert!(
        env.fake
            .set_posting_block(BOB, Some(PostingBlock::BannedFromPosting))
    );
    let (status, body) = env
        .api(
            PHOTO,
            &posting_token(&env, BOB),
            photo_post("DIRECT_POST", Some("SELF_ONLY"), &one, 0),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "spam_risk_user_banned_from_posting",
    );
    env.fake.set_unaudited(true);
    let carol = posting_token(&env, "open-carol-0003");
    let (status, body) = env.api(PHOTO, &carol, direct(&one)).await;
    assert_error(
        status,
        &body,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    assert_eq!(env.fake.posts_created(ALICE), 7);
}
