//! Scripted faults and call counting.

use std::time::{Duration, Instant};

use fake_tiktok::{Endpoint, Failure};
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::common::*;

async fn body_of(resp: reqwest::Response) -> (StatusCode, String, String) {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ctype, resp.text().await.expect("body"))
}

async fn user_info_raw(env: &Env, token: &str) -> reqwest::Result<reqwest::Response> {
    env.http
        .get(env.url("/v2/user/info/?fields=open_id"))
        .bearer_auth(token)
        .send()
        .await
}

async fn refresh_raw(env: &Env, refresh_token: &str) -> reqwest::Result<reqwest::Response> {
    env.http
        .post(env.url("/v2/oauth/token/"))
        .form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
}

#[tokio::test]
async fn status_faults_use_each_endpoint_family_shape() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let (access, refresh) = (s(&tokens, "access_token"), s(&tokens, "refresh_token"));

    env.fake
        .fail_next(Endpoint::UserInfo, Failure::Status429, 1);
    let (status, _, body) = body_of(user_info_raw(&env, access).await.expect("send")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(err_code(&body), "rate_limit_exceeded");
    assert_eq!(body["data"], serde_json::json!({}));

    env.fake.fail_next(Endpoint::Token, Failure::Status429, 1);
    let (status, _, body) = body_of(refresh_raw(&env, refresh).await.expect("send")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(s(&body, "error"), "rate_limit_exceeded");
    assert_eq!(s(&body, "log_id").len(), 34);

    env.fake
        .fail_next(Endpoint::UserInfo, Failure::Status500, 1);
    let (status, _, body) = body_of(user_info_raw(&env, access).await.expect("send")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        err_code(&serde_json::from_str(&body).expect("json")),
        "internal_error"
    );

    env.fake.fail_next(Endpoint::Token, Failure::Status500, 1);
    let (status, _, body) = body_of(refresh_raw(&env, refresh).await.expect("send")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(s(&body, "error"), "server_error");

    env.fake
        .fail_next(Endpoint::Authorize, Failure::Status500, 1);
    let (status, ctype, _) =
        body_of(env.authorize(&Auth::new("user.info.basic"), None).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(ctype.starts_with("text/html"));

    // The faulted refreshes had no effect: the refresh token still works.
    let (_, fresh) = env.refresh(refresh).await;
    assert!(fresh.get("access_token").is_some(), "{fresh}");
}

#[tokio::test]
async fn html_502_and_malformed_json() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");

    env.fake.fail_next(Endpoint::Token, Failure::Html502, 1);
    let (status, ctype, body) = body_of(refresh_raw(&env, "x").await.expect("send")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("502 Bad Gateway"));

    env.fake
        .fail_next(Endpoint::UserInfo, Failure::MalformedJson, 1);
    let (status, ctype, body) = body_of(user_info_raw(&env, access).await.expect("send")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
}

#[tokio::test]
async fn scripted_oauth_and_api_errors() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;

    env.fake.fail_next(
        Endpoint::Token,
        Failure::OAuthError200 {
            error: "invalid_grant".into(),
            description: "Refresh token is invalid or expired.".into(),
        },
        1,
    );
    let (status, body) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s(&body, "error"), "invalid_grant");
    assert_eq!(
        s(&body, "error_description"),
        "Refresh token is invalid or expired."
    );

    env.fake.fail_next(
        Endpoint::UserInfo,
        Failure::ApiError {
            status: 200,
            code: "access_token_invalid".into(),
            message: "The access token is invalid or not found in the request.".into(),
        },
        1,
    );
    let (status, body) = env.user_info(s(&tokens, "access_token"), "open_id").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err_code(&body), "access_token_invalid");
    assert_eq!(body["data"], serde_json::json!({}));
}

#[tokio::test]
async fn timeout_delays_then_answers() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");

    env.fake.fail_next(
        Endpoint::UserInfo,
        Failure::Timeout(Duration::from_millis(400)),
        1,
    );
    let err = env
        .http
        .get(env.url("/v2/user/info/?fields=open_id"))
        .bearer_auth(access)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("client times out");
    assert!(err.is_timeout(), "{err:?}");

    env.fake.fail_next(
        Endpoint::UserInfo,
        Failure::Timeout(Duration::from_millis(200)),
        1,
    );
    let started = Instant::now();
    let (status, _) = env.user_info(access, "open_id").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn connection_reset_gives_no_answer() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");
    env.fake
        .fail_next(Endpoint::UserInfo, Failure::ConnectionReset, 1);
    let err = user_info_raw(&env, access).await.expect_err("no answer");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    // The server keeps serving.
    assert_eq!(env.user_info(access, "open_id").await.0, StatusCode::OK);
}

#[tokio::test]
async fn faults_repeat_queue_and_match_any() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");
    env.fake
        .fail_next(Endpoint::UserInfo, Failure::Status500, 2);
    env.fake.fail_next(Endpoint::Any, Failure::Html502, 1);
    env.fake
        .fail_next(Endpoint::UserInfo, Failure::Status429, 0);
    let statuses = [
        user_info_raw(&env, access).await.expect("1").status(),
        user_info_raw(&env, access).await.expect("2").status(),
        user_info_raw(&env, access).await.expect("3").status(),
        user_info_raw(&env, access).await.expect("4").status(),
    ];
    assert_eq!(
        statuses,
        [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::OK
        ]
    );
}

#[tokio::test]
async fn calls_are_counted_even_when_failed() {
    let env = env().await;
    let tokens = env.login("user.info.basic,video.list").await; // consent + token
    let access = s(&tokens, "access_token");
    env.fake
        .fail_next(Endpoint::VideoList, Failure::Status500, 1);
    env.video_list(access, "id", serde_json::json!({})).await;
    env.video_list(access, "id", serde_json::json!({})).await;
    env.user_info(access, "open_id").await;
    env.revoke(access).await;
    assert_eq!(env.fake.calls(Endpoint::Authorize), 1);
    assert_eq!(env.fake.calls(Endpoint::Token), 1);
    assert_eq!(env.fake.calls(Endpoint::VideoList), 2);
    assert_eq!(env.fake.calls(Endpoint::UserInfo), 1);
    assert_eq!(env.fake.calls(Endpoint::Revoke), 1);
    assert_eq!(env.fake.calls(Endpoint::VideoQuery), 0);
    assert_eq!(env.fake.calls(Endpoint::Any), 6);
}
