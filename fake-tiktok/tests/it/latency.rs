//! Latency of the API endpoints: `FakeConfig::latency`, `set_latency` and `POST /_fake/latency`.

use std::time::{Duration, Instant};

use fake_tiktok::{Endpoint, FakeConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

const LATENCY: Duration = Duration::from_millis(100);

#[tokio::test]
async fn latency_delays_every_api_request_and_requests_overlap() {
    let env = env().await;
    let grants: Vec<_> = (0..64)
        .map(|i| {
            env.fake
                .mint_grant(&format!("latency-{i}"), &["user.info.basic", "video.list"])
        })
        .collect();
    env.fake.set_latency(LATENCY);

    let started = Instant::now();
    let (status, _) = env.user_info(&grants[0].access_token, "open_id").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= LATENCY, "{:?}", started.elapsed());
    // Scripted faults take the round trip too.
    env.fake
        .fail_next(Endpoint::UserInfo, fake_tiktok::Failure::Status429, 1);
    let started = Instant::now();
    let (status, _) = env.user_info(&grants[0].access_token, "open_id").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(started.elapsed() >= LATENCY, "{:?}", started.elapsed());

    // 64 concurrent requests across the endpoints: together about one latency, not 64.
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, grant) in grants.into_iter().enumerate() {
        let (http, base) = (env.http.clone(), env.fake.base_url());
        tasks.spawn(async move {
            let sent = Instant::now();
            let req = match i % 5 {
                0 => http
                    .get(format!("{base}/v2/user/info/?fields=open_id"))
                    .bearer_auth(&grant.access_token),
                1 => http
                    .post(format!("{base}/v2/video/list/?fields=id"))
                    .bearer_auth(&grant.access_token)
                    .json(&json!({})),
                2 => http
                    .post(format!("{base}/v2/video/query/?fields=id"))
                    .bearer_auth(&grant.access_token)
                    .json(&json!({"filters": {"video_ids": ["1"]}})),
                3 => http.post(format!("{base}/v2/oauth/token/")).form(&[
                    ("client_key", "fake_client_key"),
                    ("client_secret", "fake_client_secret"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", grant.refresh_token.as_str()),
                ]),
                _ => http.post(format!("{base}/v2/oauth/revoke/")).form(&[
                    ("client_key", "fake_client_key"),
                    ("client_secret", "fake_client_secret"),
                    ("token", grant.access_token.as_str()),
                ]),
            };
            let status = req.send().await.expect("request").status();
            (status, sent.elapsed())
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (status, took) = done.expect("task");
        assert_eq!(status, StatusCode::OK);
        assert!(took >= LATENCY, "{took:?}");
    }
    let total = started.elapsed();
    assert!(total < Duration::from_secs(2), "64 requests took {total:?}");
    assert_eq!(env.fake.calls(Endpoint::Any), 66);
}

#[tokio::test]
async fn latency_spares_the_authorize_page_and_the_control_api() {
    let slow = Duration::from_millis(1_500);
    let fast = Duration::from_millis(1_000);
    let env = env_with(FakeConfig {
        latency: slow,
        ..FakeConfig::default()
    })
    .await;
    let auth = Auth::new("user.info.basic");

    let started = Instant::now();
    assert_eq!(env.authorize(&auth, None).await.status(), StatusCode::OK);
    let code = env.code_for(&auth, ALICE).await;
    let (status, _) = env
        .post_control(
            "/_fake/grants",
            json!({"open_id": ALICE, "scopes": ["user.info.basic"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let health = env
        .http
        .get(env.url("/_fake/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < fast, "{:?}", started.elapsed());

    let started = Instant::now();
    let (status, tokens) = env.exchange(&code, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(started.elapsed() >= slow, "{:?}", started.elapsed());

    // Over the control API: off, then on again.
    let (status, _) = env
        .post_control("/_fake/latency", json!({"millis": 0}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let started = Instant::now();
    let (status, _) = env.user_info(s(&tokens, "access_token"), "open_id").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < fast, "{:?}", started.elapsed());

    env.post_control("/_fake/latency", json!({"millis": 300}))
        .await;
    let started = Instant::now();
    env.user_info(s(&tokens, "access_token"), "open_id").await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = env
        .post_control("/_fake/latency", json!({"millis": -1}))
        .await;
    assert!(status.is_client_error());
}
