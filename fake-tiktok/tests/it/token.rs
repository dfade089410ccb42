//! `POST /v2/oauth/token/` and `POST /v2/oauth/revoke/`.

use fake_tiktok::{FakeConfig, Lifetimes, PkceMode, Rotation};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;

fn assert_oauth_error(body: &Value, error: &str, description: Option<&str>) {
    assert_eq!(s(body, "error"), error, "{body}");
    if let Some(d) = description {
        assert_eq!(s(body, "error_description"), d);
    }
    assert_eq!(s(body, "log_id").len(), 34);
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn code_exchange_returns_flat_tokens() {
    let env = env().await;
    let code = env.code("user.info.basic,video.list").await;
    let resp = env
        .http
        .post(env.url("/v2/oauth/token/"))
        .form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-tt-logid"].len(), 34);
    let body: Value = resp.json().await.expect("json");
    let access = s(&body, "access_token");
    let refresh = s(&body, "refresh_token");
    assert!(
        access.starts_with("act.") && access.contains('!'),
        "{access}"
    );
    assert!(
        refresh.starts_with("rft.") && refresh.contains('!'),
        "{refresh}"
    );
    assert_eq!(body["expires_in"], 7_200);
    assert_eq!(body["refresh_expires_in"], 15_552_000);
    assert_eq!(s(&body, "open_id"), ALICE);
    assert_eq!(s(&body, "scope"), "user.info.basic,video.list");
    assert_eq!(s(&body, "token_type"), "Bearer");
    assert!(body.get("data").is_none() && body.get("error").is_none());

    let secrets = env.fake.issued_secrets();
    for secret in [code.as_str(), access, refresh, "fake_client_secret"] {
        assert!(secrets.iter().any(|x| x == secret), "{secret} not listed");
    }
}

#[tokio::test]
async fn code_is_single_use_and_short_lived() {
    let env = env().await;
    let code = env.code("user.info.basic").await;
    assert_eq!(env.exchange(&code, None).await.0, StatusCode::OK);
    let (status, body) = env.exchange(&code, None).await;
    assert_eq!(status, StatusCode::OK, "OAuth errors come with HTTP 200");
    assert_oauth_error(
        &body,
        "invalid_grant",
        Some("Authorization code is expired."),
    );

    let code = env.code("user.info.basic").await;
    env.fake.advance_clock(301);
    let (_, body) = env.exchange(&code, None).await;
    assert_oauth_error(&body, "invalid_grant", None);
}

#[tokio::test]
async fn redirect_uri_must_match_byte_for_byte() {
    let env = env().await;
    let code = env.code("user.info.basic").await;
    let base = [
        ("client_key", "fake_client_key"),
        ("client_secret", "fake_client_secret"),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    for redirect in [Some("http://127.0.0.1:9000/lambda-url/callback"), None] {
        let mut form = base.to_vec();
        if let Some(r) = redirect {
            form.push(("redirect_uri", r));
        }
        let (_, body) = env.token_form(&form).await;
        assert_oauth_error(
            &body,
            "invalid_request",
            Some("Redirect_uri is not matched with the uri when requesting code."),
        );
    }
    // A failed attempt does not burn the code.
    assert_eq!(env.exchange(&code, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn double_encoded_code_fails() {
    let env = env().await;
    let code = env.code("user.info.basic").await;
    let once_encoded = code.replace('*', "%2A").replace('!', "%21");
    let (_, body) = env.exchange(&once_encoded, None).await;
    assert_oauth_error(&body, "invalid_grant", None);
    assert_eq!(env.exchange(&code, None).await.0, StatusCode::OK);
}

async fn pkce_case(pkce: PkceMode, challenge: String, verifier: Option<&str>) -> Value {
    let env = env_with(FakeConfig {
        pkce,
        ..FakeConfig::default()
    })
    .await;
    let code = env
        .code_for(&Auth::new("user.info.basic").challenge(challenge), ALICE)
        .await;
    env.exchange(&code, verifier).await.1
}

#[tokio::test]
async fn pkce_hex_and_base64url() {
    let pkce_error = Some("Code verifier or code challenge is invalid.");
    let ok = pkce_case(PkceMode::Hex, hex_challenge(VERIFIER), Some(VERIFIER)).await;
    assert!(ok.get("access_token").is_some(), "{ok}");
    let ok = pkce_case(PkceMode::Base64Url, b64_challenge(VERIFIER), Some(VERIFIER)).await;
    assert!(ok.get("access_token").is_some(), "{ok}");

    let other = "another-verifier-0123456789-abcdefghijklmnopqrst";
    let wrong = [
        (PkceMode::Hex, hex_challenge(VERIFIER), Some(other)),
        (PkceMode::Hex, b64_challenge(VERIFIER), Some(VERIFIER)),
        (PkceMode::Base64Url, hex_challenge(VERIFIER), Some(VERIFIER)),
        (PkceMode::Hex, hex_challenge(VERIFIER), None),
        (PkceMode::Hex, hex_challenge("short"), Some("short")),
        (PkceMode::Off, hex_challenge(VERIFIER), Some(other)),
    ];
    for (mode, challenge, verifier) in wrong {
        let body = pkce_case(mode, challenge, verifier).await;
        assert_oauth_error(&body, "invalid_request", pkce_error);
    }
    // PKCE off: a challenge that is sent is still verified.
    let ok = pkce_case(PkceMode::Off, hex_challenge(VERIFIER), Some(VERIFIER)).await;
    assert!(ok.get("access_token").is_some(), "{ok}");
}

#[tokio::test]
async fn only_form_bodies_are_accepted() {
    let env = env().await;
    let code = env.code("user.info.basic").await;
    let resp = env
        .http
        .post(env.url("/v2/oauth/token/"))
        .json(&serde_json::json!({
            "client_key": "fake_client_key",
            "client_secret": "fake_client_secret",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
        }))
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_oauth_error(
        &body,
        "invalid_request",
        Some("The request parameters are malformed."),
    );
}

#[tokio::test]
async fn client_authentication() {
    let env = env().await;
    let (_, body) = env
        .token_form(&[
            ("client_key", "fake_client_key"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_oauth_error(
        &body,
        "invalid_request",
        Some("Client secret is missed in request."),
    );
    let (_, body) = env
        .token_form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_oauth_error(&body, "invalid_client", None);
    let (_, body) = env
        .token_form(&[
            ("client_id", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_oauth_error(&body, "invalid_request", None);
    let (_, body) = env
        .token_form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "password"),
        ])
        .await;
    assert_oauth_error(&body, "unsupported_grant_type", None);
}

#[tokio::test]
async fn client_credentials_grant() {
    let env = env().await;
    let (status, body) = env
        .token_form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(s(&body, "access_token").starts_with("clt."));
    assert_eq!(body["expires_in"], 7_200);
    assert_eq!(s(&body, "token_type"), "Bearer");
    assert!(body.get("refresh_token").is_none());
    // An app token is no user token.
    let (status, _) = env.user_info(s(&body, "access_token"), "open_id").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oauth_error_status_is_configurable() {
    let env = env_with(FakeConfig {
        oauth_error_status: 400,
        ..FakeConfig::default()
    })
    .await;
    let (status, body) = env.exchange("bogus*0!0000.u1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_oauth_error(&body, "invalid_grant", None);
}

#[tokio::test]
async fn missing_trailing_slash_or_wrong_method_is_janus_404() {
    let env = env().await;
    let cases = [
        env.http.post(env.url("/v2/oauth/token")),
        env.http.post(env.url("/v2/oauth/revoke")),
        env.http.get(env.url("/v2/oauth/token/")),
        env.http.get(env.url("/v2/auth/authorize")),
        env.http.get(env.url("/v2/user/info")),
        env.http.post(env.url("/v2/user/info/")),
        env.http.get(env.url("/v2/video/list/")),
        env.http.post(env.url("/v2/video/list")),
        env.http.get(env.url("/v1/anything")),
    ];
    for req in cases {
        let resp = req.send().await.expect("send");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.text().await.expect("body"), "Unsupported path(Janus)");
    }
    assert_eq!(env.fake.calls(fake_tiktok::Endpoint::Any), 0);
}

#[tokio::test]
async fn strict_rotation_kills_the_old_refresh_token() {
    let env = env().await;
    let first = env.login("user.info.basic").await;
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 1);
    let (_, second) = env.refresh(s(&first, "refresh_token")).await;
    assert_ne!(s(&second, "refresh_token"), s(&first, "refresh_token"));
    assert_ne!(s(&second, "access_token"), s(&first, "access_token"));
    assert_eq!(s(&second, "scope"), "user.info.basic");
    assert_eq!(s(&second, "open_id"), ALICE);
    let (status, body) = env.refresh(s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_oauth_error(&body, "invalid_grant", None);
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 1);
    // The previous access token stays valid until its own expiry.
    assert_eq!(
        env.user_info(s(&first, "access_token"), "open_id").await.0,
        StatusCode::OK
    );
    let (_, third) = env.refresh(s(&second, "refresh_token")).await;
    assert!(third.get("access_token").is_some());
}

#[tokio::test]
async fn classic_rotation_keeps_the_old_refresh_token() {
    let env = env_with(FakeConfig {
        rotation: Rotation::Classic,
        ..FakeConfig::default()
    })
    .await;
    let first = env.login("user.info.basic").await;
    let (_, second) = env.refresh(s(&first, "refresh_token")).await;
    assert_ne!(s(&second, "refresh_token"), s(&first, "refresh_token"));
    let (_, again) = env.refresh(s(&first, "refresh_token")).await;
    assert!(again.get("access_token").is_some(), "{again}");
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 3);

    env.fake.set_rotation(Rotation::Strict);
    let (_, _) = env.refresh(s(&first, "refresh_token")).await;
    let (_, body) = env.refresh(s(&first, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_grant", None);
}

#[tokio::test]
async fn refresh_window_counts_down_and_is_not_reset() {
    let env = env_with(FakeConfig {
        lifetimes: Lifetimes::CLASSIC,
        ..FakeConfig::default()
    })
    .await;
    let first = env.login("user.info.basic").await;
    env.fake.advance_clock(100_000);
    let (_, second) = env.refresh(s(&first, "refresh_token")).await;
    assert_eq!(second["expires_in"], 86_400);
    let remaining = second["refresh_expires_in"].as_i64().expect("int");
    // One second of slack for the real clock ticking between calls.
    assert!(
        (31_436_000 - 1..=31_436_000).contains(&remaining),
        "{remaining}"
    );

    env.fake.set_lifetimes(Lifetimes::Y2026);
    let (_, third) = env.refresh(s(&second, "refresh_token")).await;
    assert_eq!(third["expires_in"], 7_200);
    assert!(third["refresh_expires_in"].as_i64().expect("int") <= remaining);

    env.fake.advance_clock(31_436_001);
    let (_, body) = env.refresh(s(&third, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_grant", None);
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 0);
}

#[tokio::test]
async fn default_lifetimes_are_two_hours_and_180_days() {
    assert_eq!(FakeConfig::default().lifetimes, Lifetimes::Y2026);
    assert_eq!(Lifetimes::default(), Lifetimes::Y2026);
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    assert_eq!(tokens["expires_in"], 7_200);
    assert_eq!(tokens["refresh_expires_in"], 15_552_000);
    let access = s(&tokens, "access_token");
    env.fake.advance_clock(7_199);
    assert_eq!(env.user_info(access, "open_id").await.0, StatusCode::OK);
    env.fake.advance_clock(1);
    assert_eq!(
        env.user_info(access, "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );
    // The refresh window: 180 days from the grant, then the refresh token is dead.
    let (_, fresh) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(fresh["expires_in"], 7_200, "{fresh}");
    env.fake.advance_clock(15_552_000 - 7_200);
    let (_, body) = env.refresh(s(&fresh, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_grant", None);

    // The classic lifetimes stay available.
    let env = env_with(FakeConfig {
        lifetimes: Lifetimes::CLASSIC,
        ..FakeConfig::default()
    })
    .await;
    let tokens = env.login("user.info.basic").await;
    assert_eq!(tokens["expires_in"], 86_400);
    assert_eq!(tokens["refresh_expires_in"], 31_536_000);
}

#[tokio::test]
async fn revoke_kills_the_grant() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    let access = s(&tokens, "access_token");
    let (status, body) = env.revoke(access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({}));
    let (status, body) = env.user_info(access, "open_id").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err_code(&body), "access_token_invalid");
    let (_, body) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_grant", None);
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 0);
    // Revoking again: the token is now unknown.
    let (_, body) = env.revoke(access).await;
    assert_oauth_error(&body, "invalid_request", None);
}

#[tokio::test]
async fn revoke_refuses_expired_and_unknown_tokens() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    env.fake.expire_access_tokens(ALICE);
    let (_, body) = env.revoke(s(&tokens, "access_token")).await;
    assert_oauth_error(&body, "invalid_request", None);
    assert_eq!(
        env.fake.live_refresh_tokens(ALICE),
        1,
        "the grant is still alive"
    );
    let (_, body) = env.revoke(s(&tokens, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_request", None);
    // Refresh first, then revoke works.
    let (_, fresh) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_eq!(
        env.revoke(s(&fresh, "access_token")).await.1,
        serde_json::json!({})
    );
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 0);
}

#[tokio::test]
async fn revoke_grants_from_the_test_side() {
    let env = env().await;
    let tokens = env.login("user.info.basic").await;
    env.fake.revoke_grants(ALICE);
    assert_eq!(
        env.user_info(s(&tokens, "access_token"), "open_id").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, body) = env.refresh(s(&tokens, "refresh_token")).await;
    assert_oauth_error(&body, "invalid_grant", None);
}
