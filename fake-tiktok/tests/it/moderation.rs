//! Moderation of public posts: the post id comes `moderation_secs` after completion, with
//! `post.publish.publicly_available`, and the post joins the user's videos; a take-down reverses
//! that.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;
use crate::receiver::*;

const PUBLICLY_AVAILABLE: &str = "post.publish.publicly_available";
const NO_LONGER: &str = "post.publish.no_longer_publicaly_available";
const FIELDS: &str =
    "id,create_time,title,video_description,duration,is_aigc,like_count,view_count";

/// `/v2/video/query/` of these ids with [`FIELDS`]; the videos found.
async fn query(env: &Env, token: &str, ids: &[&str]) -> Vec<Value> {
    let (status, body) = env.video_query(token, FIELDS, ids).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["videos"].as_array().expect("videos").clone()
}

/// The ids of the first page (10) of `/v2/video/list/`, newest first.
async fn listed_ids(env: &Env, token: &str) -> Vec<String> {
    let (status, body) = env.video_list(token, "id", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    video_ids(&body)
}

/// A public Direct Post of Alice's, pulled from a URL, AI-generated; returns its publish id.
async fn public_video_post(env: &Env, token: &str) -> String {
    let mut body = url_post("PUBLIC_TO_EVERYONE");
    body["post_info"]["is_aigc"] = json!(true);
    let (status, answer) = env.api(DIRECT, token, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    s(&answer["data"], "publish_id").to_owned()
}

/// Alice's token with the posting scopes, `video.list` and `user.info.stats`.
fn token_for_all(env: &Env) -> String {
    env.fake
        .mint_grant(
            ALICE,
            &[
                "video.publish",
                "video.upload",
                "video.list",
                "user.info.stats",
            ],
        )
        .access_token
}

/// What user info says of Alice's `video_count`.
async fn video_count(env: &Env, token: &str) -> i64 {
    let (status, body) = env.user_info(token, "video_count").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["user"]["video_count"].as_i64().expect("count")
}

#[tokio::test]
async fn public_post_id_waits_for_moderation() {
    let (env, inbox) = env_hooked_once().await;
    let token = token_for_all(&env);
    let id = public_video_post(&env, &token).await;

    env.fake.advance_clock(5);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["status"], "PUBLISH_COMPLETE");
    assert_eq!(
        data["publicaly_available_post_id"],
        json!([]),
        "in moderation"
    );
    let completed_at = env.fake.publishes(ALICE)[0].created_at + 5;
    assert_eq!(env.fake.publishes(ALICE)[0].post_id, None);
    assert_eq!(
        wait_for_event(&inbox, "post.publish.complete", 1)
            .await
            .len(),
        1
    );

    // 10 s after completion (and a moment of real time): still in moderation (20 s by default).
    env.fake.advance_clock(10);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(data["publicaly_available_post_id"], json!([]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(contents_of(&inbox, PUBLICLY_AVAILABLE).is_empty());
    let before = listed_ids(&env, &token).await;
    assert_eq!(video_count(&env, &token).await, 25);

    env.fake.advance_clock(10);
    let data = status_of(&env, &token, &id).await;
    let post_id = data["publicaly_available_post_id"][0]
        .as_u64()
        .expect("a JSON number");
    assert!(
        post_id > 1 << 53 && post_id.to_string().len() == 19,
        "{post_id}"
    );
    let events = wait_for_event(&inbox, PUBLICLY_AVAILABLE, 1).await;
    assert_eq!(
        events,
        vec![json!({ "publish_id": id, "post_id": post_id, "publish_type": "DIRECT_PUBLISH" })]
    );
    assert_eq!(env.fake.publishes(ALICE)[0].post_id, Some(post_id));

    // The post is now Alice's newest video, AI-generated as the post said.
    let post_id = post_id.to_string();
    let found = query(&env, &token, &[post_id.as_str()]).await;
    assert_eq!(
        found,
        vec![json!({
            "id": post_id,
            "create_time": completed_at,
            "title": "a #cat",
            "video_description": "a #cat",
            "duration": 15,
            "is_aigc": true,
            "like_count": 0,
            "view_count": 0,
        })]
    );
    let after = listed_ids(&env, &token).await;
    assert_eq!(after[0], post_id, "newest first");
    assert_eq!(after[1..], before[..9]);
    assert_eq!(video_count(&env, &token).await, 26);

    // The event went out once, whatever happens next.
    env.fake.advance_clock(60);
    status_of(&env, &token, &id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(contents_of(&inbox, PUBLICLY_AVAILABLE).len(), 1);
    assert_eq!(contents_of(&inbox, "post.publish.complete").len(), 1);
}

#[tokio::test]
async fn public_photo_post_becomes_a_video_with_its_description() {
    let env = env().await;
    let token = token_for_all(&env);
    // Over the control API: no moderation wait; a negative value is refused.
    let (status, body) = env
        .post_control("/_fake/moderation", json!({ "secs": -1 }))
        .await;
    assert_eq!(
        (status, &body),
        (StatusCode::BAD_REQUEST, &json!({ "error": "invalid_secs" }))
    );
    let (status, _) = env
        .post_control("/_fake/moderation", json!({ "secs": 0 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = env
        .api(
            PHOTO,
            &token,
            json!({
                "media_type": "PHOTO",
                "post_mode": "DIRECT_POST",
                "post_info": {
                    "title": "Weekend 📸",
                    "description": "Three shots #photo",
                    "privacy_level": "PUBLIC_TO_EVERYONE",
                },
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_images": ["https://media.example.com/p/1.jpg", "https://media.example.com/p/2.webp"],
                    "photo_cover_index": 0,
                },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = s(&body["data"], "publish_id").to_owned();
    env.fake.advance_clock(5);
    let data = status_of(&env, &token, &id).await;
    let post_id = data["publicaly_available_post_id"][0]
        .as_u64()
        .expect("public at once")
        .to_string();
    let found = query(&env, &token, &[post_id.as_str()]).await;
    assert_eq!(found.len(), 1);
    let video = &found[0];
    assert_eq!(
        (
            &video["title"],
            &video["video_description"],
            &video["duration"],
            &video["is_aigc"]
        ),
        (
            &json!("Weekend 📸"),
            &json!("Three shots #photo"),
            &json!(0),
            &json!(false)
        )
    );
}

#[tokio::test]
async fn take_down_withdraws_the_public_post() {
    let (env, inbox) = env_hooked_once().await;
    let token = token_for_all(&env);
    let id = public_video_post(&env, &token).await;
    let second = public_video_post(&env, &token).await;
    let private = {
        let (_, body) = env.api(DIRECT, &token, url_post("SELF_ONLY")).await;
        s(&body["data"], "publish_id").to_owned()
    };
    env.fake.advance_clock(5);
    // In moderation, or never public: nothing to take down.
    for not_public in [&id, &private] {
        let (status, body) = env
            .post_control(
                &format!("/_fake/publishes/{not_public}/take-down"),
                json!({}),
            )
            .await;
        assert_eq!(
            (status, &body),
            (
                StatusCode::CONFLICT,
                &json!({ "error": "not_publicly_available" })
            )
        );
    }
    let (status, _) = env
        .post_control("/_fake/publishes/v_pub_url~v2.1/take-down", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    env.fake.advance_clock(20);
    let post_id = status_of(&env, &token, &id).await["publicaly_available_post_id"][0]
        .as_u64()
        .expect("public");
    let post_id_text = post_id.to_string();
    assert_eq!(query(&env, &token, &[post_id_text.as_str()]).await.len(), 1);

    let (status, _) = env
        .post_control(&format!("/_fake/publishes/{id}/take-down"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let data = status_of(&env, &token, &id).await;
    assert_eq!(
        (&data["status"], &data["publicaly_available_post_id"]),
        (&json!("PUBLISH_COMPLETE"), &json!([]))
    );
    assert!(
        query(&env, &token, &[post_id_text.as_str()])
            .await
            .is_empty()
    );
    assert!(!listed_ids(&env, &token).await.contains(&post_id_text));
    assert_eq!(env.fake.publishes(ALICE)[0].post_id, None);
    assert_eq!(
        wait_for_event(&inbox, NO_LONGER, 1).await,
        vec![json!({ "publish_id": id, "post_id": post_id, "publish_type": "DIRECT_PUBLISH" })]
    );

    // Once only; the other post, from the Rust side.
    let (status, _) = env
        .post_control(&format!("/_fake/publishes/{id}/take-down"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    env.fake.advance_clock(5);
    assert!(env.fake.take_down(&second));
    assert!(!env.fake.take_down(&second));
    assert_eq!(wait_for_event(&inbox, NO_LONGER, 2).await.len(), 2);
    assert_eq!(listed_ids(&env, &token).await.len(), 10);
    assert_eq!(video_count(&env, &token).await, 25);
}
