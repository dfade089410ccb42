//! `GET /v2/user/info/`, `POST /v2/video/list/`, `POST /v2/video/query/`.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

fn assert_api_error(status: StatusCode, body: &Value, want_status: StatusCode, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(err_code(body), code, "{body}");
    assert_eq!(body["data"], json!({}));
    assert_eq!(body["error"]["log_id"].as_str().map(str::len), Some(34));
}

#[tokio::test]
async fn user_info_returns_only_requested_fields() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let token = s(&tokens, "access_token");
    let (status, body) = env
        .user_info(token, "open_id,display_name,avatar_url")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(err_code(&body), "ok");
    assert_eq!(body["error"]["message"], "");
    let user = body["data"]["user"].as_object().expect("user");
    assert_eq!(user.len(), 3);
    assert_eq!(user["open_id"], ALICE);
    assert_eq!(user["display_name"], "Alice Dancer");
    let avatar = user["avatar_url"].as_str().expect("avatar");
    assert!(
        avatar.starts_with("https://p16-sign.tiktokcdn.com/avatar/open-alice-0001")
            && avatar.contains("x-expires=")
    );

    let (_, body) = env.user_info(token, "display_name").await;
    assert!(
        body["data"]["user"].get("open_id").is_none(),
        "open_id only when asked"
    );
}

#[tokio::test]
async fn user_info_enforces_field_scopes() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let token = s(&tokens, "access_token");
    for fields in [
        "open_id,follower_count",
        "username",
        "bio_description,is_verified",
    ] {
        let (status, body) = env.user_info(token, fields).await;
        assert_api_error(
            status,
            &body,
            StatusCode::BAD_REQUEST,
            "scope_permission_missed",
        );
        assert_eq!(
            body["error"]["message"],
            "Access token is invalid, some fields need additional scopes."
        );
    }

    let full = env.login(ALL_USER_SCOPES).await;
    let all = "open_id,union_id,avatar_url,avatar_url_100,avatar_large_url,display_name,\
               bio_description,profile_deep_link,is_verified,username,\
               follower_count,following_count,likes_count,video_count";
    let (status, body) = env.user_info(s(&full, "access_token"), all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = &body["data"]["user"];
    assert_eq!(user.as_object().map(|o| o.len()), Some(14));
    assert_eq!(user["username"], "alice.dances");
    assert_eq!(user["video_count"], 25);
    assert_eq!(user["is_verified"], true);
}

#[tokio::test]
async fn user_info_params_and_tokens() {
    let env = env().await;
    let tokens = env.login("user.info.basic,video.list").await;
    let token = s(&tokens, "access_token");

    let resp = env
        .http
        .get(env.url("/v2/user/info/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_api_error(status, &body, StatusCode::BAD_REQUEST, "invalid_params");
    let (status, body) = env.user_info(token, "open_id,email").await;
    assert_api_error(status, &body, StatusCode::BAD_REQUEST, "invalid_params");

    let resp = env
        .http
        .get(env.url("/v2/user/info/?fields=open_id"))
        .send()
        .await
        .expect("send");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_api_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    assert_eq!(
        body["error"]["message"],
        "The access token is invalid or not found in the request."
    );
    let (status, body) = env.user_info("act.bogus!1234", "open_id").await;
    assert_api_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );

    // Natural expiry, then a refresh brings access back.
    env.fake.advance_clock(86_400);
    let (status, body) = env.user_info(token, "open_id").await;
    assert_api_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    let (_, fresh) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(
        env.user_info(s(&fresh, "access_token"), "open_id").await.0,
        StatusCode::OK
    );

    // Token without any user.info scope.
    let resp = env
        .consent(
            &Auth::new("user.info.basic,video.list"),
            ALICE,
            &["video.list"],
            "approve",
        )
        .await;
    let (_, only_videos) = env
        .exchange(&query_of(&location(&resp))["code"], None)
        .await;
    let (status, body) = env
        .user_info(s(&only_videos, "access_token"), "open_id")
        .await;
    assert_api_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn expire_access_tokens_hits_only_that_user() {
    let env = env().await;
    let alice = env.login("user.info.basic").await;
    let code = env.code_for(&Auth::new("user.info.basic"), BOB).await;
    let (_, bob) = env.exchange(&code, None).await;
    env.fake.expire_access_tokens(ALICE);
    assert_eq!(
        env.user_info(s(&alice, "access_token"), "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        env.user_info(s(&bob, "access_token"), "open_id").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn video_list_pages_to_the_end_by_cursor() {
    let env = env().await;
    let tokens = env.login("user.info.basic,video.list").await;
    let token = s(&tokens, "access_token");
    let mut seen = HashSet::new();
    let mut cursor: Option<i64> = None;
    let mut pages = Vec::new();
    let mut last_time = i64::MAX;
    loop {
        let body = match cursor {
            Some(c) => json!({ "max_count": 10, "cursor": c }),
            None => json!({ "max_count": 10 }),
        };
        let (status, resp) = env.video_list(token, "title,create_time", body).await;
        assert_eq!(status, StatusCode::OK, "{resp}");
        let videos = resp["data"]["videos"].as_array().expect("videos").clone();
        for v in &videos {
            let obj = v.as_object().expect("video");
            assert_eq!(obj.len(), 3, "id + requested fields only: {v}");
            let id = v["id"].as_str().expect("id");
            assert_eq!(id.len(), 19);
            assert!(seen.insert(id.to_owned()), "duplicate {id}");
            let t = v["create_time"].as_i64().expect("time");
            assert!(t < last_time, "descending");
            last_time = t;
        }
        pages.push(videos.len());
        assert_eq!(resp["data"]["cursor"].as_i64(), Some(last_time * 1_000));
        if !resp["data"]["has_more"].as_bool().expect("has_more") {
            break;
        }
        cursor = resp["data"]["cursor"].as_i64();
    }
    assert_eq!(pages, vec![10, 10, 5]);
    assert_eq!(seen.len(), 25);
    // Past the end: nothing older.
    let (_, resp) = env
        .video_list(token, "id", json!({ "cursor": last_time * 1_000 }))
        .await;
    assert_eq!(resp["data"]["videos"], json!([]));
    assert_eq!(resp["data"]["has_more"], false);
}

#[tokio::test]
async fn video_list_defaults_and_fields() {
    let env = env().await;
    let tokens = env.login("video.list").await;
    let token = s(&tokens, "access_token");
    let all = "id,create_time,cover_image_url,share_url,video_description,duration,height,width,\
               title,embed_html,embed_link,like_count,comment_count,share_count,view_count,is_aigc";
    let (status, resp) = env.video_list(token, all, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let videos = resp["data"]["videos"].as_array().expect("videos");
    assert_eq!(videos.len(), 10, "max_count defaults to 10");
    let v = &videos[0];
    assert_eq!(v.as_object().map(|o| o.len()), Some(16));
    let cover = v["cover_image_url"].as_str().expect("cover");
    let expires: i64 = cover
        .split("x-expires=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .and_then(|n| n.parse().ok())
        .expect("x-expires");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    assert!(
        (now + 6 * 3_600 - 5..=now + 6 * 3_600 + 5).contains(&expires),
        "{cover}"
    );
    assert!(s(v, "share_url").contains(&format!("/@alice.dances/video/{}", s(v, "id"))));
    let titles: Vec<&str> = videos.iter().filter_map(|v| v["title"].as_str()).collect();
    assert!(
        titles.iter().any(|t| !t.is_ascii()),
        "unicode titles: {titles:?}"
    );
}

#[tokio::test]
async fn video_list_validation() {
    let env = env().await;
    let tokens = env.login("user.info.basic,video.list").await;
    let token = s(&tokens, "access_token");
    for body in [
        json!({ "max_count": 21 }),
        json!({ "max_count": 0 }),
        json!({ "max_count": "10" }),
        json!({ "cursor": -1 }),
    ] {
        let (status, resp) = env.video_list(token, "id", body).await;
        assert_api_error(status, &resp, StatusCode::BAD_REQUEST, "invalid_params");
    }
    let (status, resp) = env.video_list(token, "id,plays", json!({})).await;
    assert_api_error(status, &resp, StatusCode::BAD_REQUEST, "invalid_params");
    let (status, resp) = env
        .video_list(token, "id", json!({ "max_count": 20 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    assert_eq!(resp["data"]["videos"].as_array().map(Vec::len), Some(20));

    let resp = env
        .http
        .get(env.url("/v2/video/list/?fields=id"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.text().await.expect("body"), "Unsupported path(Janus)");

    let basic = env.login("user.info.basic").await;
    let (status, resp) = env
        .video_list(s(&basic, "access_token"), "id", json!({}))
        .await;
    assert_api_error(
        status,
        &resp,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn video_query_returns_only_own_videos() {
    let env = env().await;
    let tokens = env.login("video.list").await;
    let token = s(&tokens, "access_token");
    let (_, listed) = env.video_list(token, "id", json!({ "max_count": 2 })).await;
    let own: Vec<String> = listed["data"]["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| s(v, "id").to_owned())
        .collect();
    let bob_code = env.code_for(&Auth::new("video.list"), BOB).await;
    let (_, bob) = env.exchange(&bob_code, None).await;
    let (_, bob_listed) = env
        .video_list(s(&bob, "access_token"), "id", json!({}))
        .await;
    let foreign = s(&bob_listed["data"]["videos"][0], "id").to_owned();
    let query = |ids: Vec<String>| {
        env.http
            .post(env.url("/v2/video/query/?fields=id,cover_image_url"))
            .bearer_auth(token)
            .json(&json!({ "filters": { "video_ids": ids } }))
            .send()
    };
    let resp = query(vec![own[0].clone(), foreign, own[1].clone()])
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    let got: Vec<&str> = body["data"]["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| s(v, "id"))
        .collect();
    assert_eq!(got, vec![own[0].as_str(), own[1].as_str()]);
    assert!(body["data"]["videos"][0]["cover_image_url"].is_string());

    for ids in [vec![], vec![own[0].clone(); 21]] {
        let resp = query(ids).await.expect("send");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_api_error(status, &body, StatusCode::BAD_REQUEST, "invalid_params");
    }
}

/// `/v2/video/query/?fields=id,is_aigc` with these ids: the status and answer.
async fn query_ids(env: &Env, token: &str, ids: &[String]) -> (StatusCode, Value) {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    env.video_query(token, "id,is_aigc", &ids).await
}

#[tokio::test]
async fn video_query_takes_1_to_20_ids_and_skips_unknown_ones() {
    let env = env().await;
    let tokens = env.login("video.list").await;
    let token = s(&tokens, "access_token");
    let (_, listed) = env
        .video_list(token, "id", json!({ "max_count": 20 }))
        .await;
    let mut own = video_ids(&listed);
    let (_, older) = env
        .video_list(token, "id", json!({ "cursor": listed["data"]["cursor"] }))
        .await;
    own.extend(video_ids(&older));
    assert_eq!(own.len(), 25);

    let (status, body) = query_ids(&env, token, &own[3..4]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(video_ids(&body), own[3..4]);
    assert_eq!(
        (&body["data"]["cursor"], &body["data"]["has_more"]),
        (&json!(0), &json!(false))
    );
    let (status, body) = query_ids(&env, token, &own[..20]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(video_ids(&body), own[..20], "in the order asked");

    // Unknown ids (and other users', see above) are simply absent.
    let unknown = vec![
        "7000000000000000001".to_owned(),
        own[0].clone(),
        "not-an-id".to_owned(),
    ];
    let (status, body) = query_ids(&env, token, &unknown).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(video_ids(&body), own[..1]);
    let (status, body) = query_ids(&env, token, &unknown[..1]).await;
    assert_eq!((status, video_ids(&body)), (StatusCode::OK, Vec::new()));

    for ids in [&own[..0], &own[..21]] {
        let (status, body) = query_ids(&env, token, ids).await;
        assert_api_error(status, &body, StatusCode::BAD_REQUEST, "invalid_params");
    }
    let basic = env.login("user.info.basic").await;
    let (status, body) = query_ids(&env, s(&basic, "access_token"), &own[..1]).await;
    assert_api_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn is_aigc_is_a_video_field_true_for_one_seeded_video() {
    let env = env().await;
    let tokens = env.login("video.list").await;
    let token = s(&tokens, "access_token");
    let (status, body) = env
        .video_list(token, "is_aigc", json!({ "max_count": 20 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let videos = body["data"]["videos"].as_array().expect("videos");
    let flags: Vec<&Value> = videos.iter().map(|v| &v["is_aigc"]).collect();
    assert!(flags.iter().all(|f| f.is_boolean()), "{body}");
    assert_eq!(
        flags.iter().filter(|f| ***f == json!(true)).count(),
        1,
        "{flags:?}"
    );
    assert_eq!(videos[1]["is_aigc"], true, "Alice's second newest");
    assert_eq!(
        videos[1].as_object().map(|o| o.len()),
        Some(2),
        "id + is_aigc"
    );
    let aigc = s(&videos[1], "id").to_owned();
    let (_, body) = query_ids(&env, token, &[aigc]).await;
    assert_eq!(body["data"]["videos"][0]["is_aigc"], true, "{body}");
}
