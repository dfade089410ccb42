//! The `/_fake/` HTTP control API, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

async fn control(env: &Env, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = env
        .http
        .post(env.url(path))
        .json(&body)
        .send()
        .await
        .expect("control");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn health_and_calls() {
    let env = env().await;
    let resp = env
        .http
        .get(env.url("/_fake/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(resp.status(), StatusCode::OK);
    env.login("user.info.basic").await;
    let calls: Value = env
        .http
        .get(env.url("/_fake/calls"))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    assert_eq!(
        calls,
        json!({"authorize":1,"token":1,"revoke":0,"user_info":0,"video_list":0,"video_query":0,
               "creator_info":0,"video_init":0,"status_fetch":0,"publish_cancel":0,"upload":0,
               "any":2})
    );
}

#[tokio::test]
async fn scripted_faults_over_http() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");
    let (status, _) = control(
        &env,
        "/_fake/fail",
        json!({"endpoint":"user_info","failure":{"type":"status429"},"times":1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.user_info(access, "open_id").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    control(
        &env,
        "/_fake/fail",
        json!({"endpoint":"token","failure":{"type":"oauth_error200","error":"invalid_grant","description":"x"}}),
    )
    .await;
    let (status, body) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(
        (status, s(&body, "error")),
        (StatusCode::OK, "invalid_grant")
    );

    control(
        &env,
        "/_fake/fail",
        json!({"endpoint":"any","failure":{"type":"api_error","status":401,"code":"access_token_invalid","message":"m"},"times":1}),
    )
    .await;
    let (status, body) = env.user_info(access, "open_id").await;
    assert_eq!(
        (status, err_code(&body)),
        (StatusCode::UNAUTHORIZED, "access_token_invalid")
    );

    control(
        &env,
        "/_fake/fail",
        json!({"endpoint":"user_info","failure":{"type":"timeout","millis":300},"times":1}),
    )
    .await;
    let err = env
        .http
        .get(env.url("/v2/user/info/?fields=open_id"))
        .bearer_auth(access)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("timeout");
    assert!(err.is_timeout());

    for failure in ["status500", "html502", "malformed_json", "connection_reset"] {
        let (status, _) = control(
            &env,
            "/_fake/fail",
            json!({"endpoint":"video_query","failure":{"type":failure},"times":1}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{failure}");
    }
    let (status, _) = control(
        &env,
        "/_fake/fail",
        json!({"endpoint":"nowhere","failure":{"type":"status500"}}),
    )
    .await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn lifetimes_rotation_and_clock_over_http() {
    let env = env().await;
    control(
        &env,
        "/_fake/lifetimes",
        json!({"access_secs":7200,"refresh_secs":15552000}),
    )
    .await;
    control(&env, "/_fake/rotation", json!({"rotation":"classic"})).await;
    let tokens = env.login("user.info.basic").await;
    assert_eq!(tokens["expires_in"], 7_200);
    assert_eq!(tokens["refresh_expires_in"], 15_552_000);
    env.refresh(s(&tokens, "refresh_token")).await;
    let (_, again) = env.refresh(s(&tokens, "refresh_token")).await;
    assert!(
        again.get("access_token").is_some(),
        "classic rotation: {again}"
    );

    let code = env.code("user.info.basic").await;
    let (status, body) = control(&env, "/_fake/clock", json!({"advance_secs":301})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["now"].is_i64());
    assert_eq!(
        s(&env.exchange(&code, None).await.1, "error"),
        "invalid_grant"
    );
}

#[tokio::test]
async fn user_controls_over_http() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");
    let (status, _) = control(
        &env,
        "/_fake/users/open-alice-0001/expire-access",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.user_info(access, "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );

    let (_, fresh) = env.refresh(s(&tokens, "refresh_token")).await;
    let live: Value = env
        .http
        .get(env.url("/_fake/users/open-alice-0001/live-refresh-tokens"))
        .send()
        .await
        .expect("live")
        .json()
        .await
        .expect("json");
    assert_eq!(live["live"], 1);
    let (status, _) = control(&env, "/_fake/users/open-alice-0001/revoke", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.user_info(s(&fresh, "access_token"), "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 0);

    let (status, _) = control(&env, "/_fake/users/open-nobody/revoke", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let secrets: Value = env
        .http
        .get(env.url("/_fake/secrets"))
        .send()
        .await
        .expect("secrets")
        .json()
        .await
        .expect("json");
    let listed = secrets["secrets"].as_array().expect("list");
    assert!(listed.iter().any(|v| v == access));
    assert!(listed.iter().any(|v| v == "fake_client_secret"));
}

/// Kills the child on drop, so a failing assertion leaves no process behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_and_never_logs_secrets() {
    let child = Command::new(env!("CARGO_BIN_EXE_fake-tiktok"))
        .args(["--addr", "127.0.0.1:0"])
        .env("FAKE_TIKTOK_CLIENT_SECRET", "bin_secret_value")
        .env("FAKE_TIKTOK_LIFETIMES", "2026")
        .env("FAKE_TIKTOK_LATENCY_MS", "150")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn binary");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("startup line");
    let startup: Value = serde_json::from_str(&first).expect("JSON log line");
    let base = startup["fields"]["url"]
        .as_str()
        .expect("url field")
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let auth = Auth::new("user.info.basic");
    let mut form = auth.pairs();
    form.extend([
        ("account".to_owned(), ALICE.to_owned()),
        ("granted".to_owned(), "user.info.basic".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ]);
    let resp = http
        .post(format!("{base}/v2/auth/authorize/consent/"))
        .form(&form)
        .send()
        .await
        .expect("consent");
    let code = query_of(&location(&resp)).remove("code").expect("code");
    let tokens: Value = http
        .post(format!("{base}/v2/oauth/token/"))
        .form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "bin_secret_value"),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(tokens["expires_in"], 7_200, "{tokens}");
    let token = s(&tokens, "access_token");
    let started = std::time::Instant::now();
    let status = http
        .get(format!("{base}/v2/user/info/?fields=open_id"))
        .bearer_auth(token)
        .send()
        .await
        .expect("user info")
        .status();
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "FAKE_TIKTOK_LATENCY_MS applies"
    );
    // A token in a wrong path must not reach the log either.
    http.get(format!("{base}/v2/oauth/token/{token}"))
        .send()
        .await
        .expect("404");
    let secrets: Value = http
        .get(format!("{base}/_fake/secrets"))
        .send()
        .await
        .expect("secrets")
        .json()
        .await
        .expect("json");

    drop(running);
    let mut log = vec![first];
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        log.push(line);
    }
    let log = log.join("\n");
    assert!(
        log.contains("\"endpoint\":\"token\""),
        "requests are logged: {log}"
    );
    for secret in secrets["secrets"].as_array().expect("list") {
        let secret = secret.as_str().expect("str");
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
    assert!(!log.contains(code.replace('*', "%2A").as_str()));
}
