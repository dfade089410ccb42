//! `GET /v2/auth/authorize/` and the consent form.

use fake_tiktok::{FakeConfig, PkceMode};
use reqwest::{StatusCode, header};

use crate::common::*;

/// Asserts an HTML error page naming `param`, answered without a redirect.
async fn assert_error_page(resp: reqwest::Response, status: StatusCode, param: &str) {
    assert_eq!(resp.status(), status);
    assert!(resp.headers().get(header::LOCATION).is_none());
    let ctype = resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ctype")
        .to_owned();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let body = resp.text().await.expect("body");
    assert!(body.contains("Something went wrong"), "{body}");
    assert!(
        body.contains(&format!("data-param=\"{param}\">{param}</code>")),
        "expected {param} in {body}"
    );
}

#[tokio::test]
async fn misconfigurations_render_error_pages_naming_the_parameter() {
    let env = env().await;
    let cases = [
        (
            Auth::new("user.info.basic").with("client_key", "nope"),
            "client_key",
        ),
        (
            Auth::new("user.info.basic")
                .with("client_id", "fake_client_key")
                .with("client_key", ""),
            "client_key",
        ),
        (
            Auth::new("user.info.basic")
                .with("redirect_uri", "http://127.0.0.1:9000/lambda-url/callback"),
            "redirect_uri",
        ),
        (
            Auth::new("user.info.basic").with("redirect_uri", "https://evil.example/cb/"),
            "redirect_uri",
        ),
        (
            Auth::new("user.info.basic").with("response_type", "token"),
            "response_type",
        ),
        (Auth::new("user.info.basic video.list"), "scope"),
        (Auth::new("user.info.basic, video.list"), "scope"),
        (Auth::new("user.info.basic,user.info.email"), "scope"),
        (Auth::new("user.info.basic,"), "scope"),
        (Auth::new("user.info.basic").with("state", ""), "state"),
        (
            Auth::new("user.info.basic")
                .with("code_challenge", "abc")
                .with("code_challenge_method", "plain"),
            "code_challenge_method",
        ),
    ];
    for (auth, param) in cases {
        assert_error_page(env.authorize(&auth, None).await, StatusCode::OK, param).await;
    }
    assert_eq!(env.fake.calls(fake_tiktok::Endpoint::Authorize), 11);
}

#[tokio::test]
async fn pkce_on_requires_a_challenge() {
    for pkce in [PkceMode::Hex, PkceMode::Base64Url] {
        let env = env_with(FakeConfig {
            pkce,
            ..FakeConfig::default()
        })
        .await;
        let auth = Auth::new("user.info.basic");
        assert_error_page(
            env.authorize(&auth, None).await,
            StatusCode::OK,
            "code_challenge",
        )
        .await;
        let ok = env
            .authorize(&auth.challenge(hex_challenge(VERIFIER)), None)
            .await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(ok.text().await.expect("body").contains("consent"));
    }
}

#[tokio::test]
async fn valid_request_shows_the_consent_form() {
    let env = env().await;
    let auth = Auth::new("user.info.basic,video.list").with("state", "a\"<b>&c");
    let resp = env.authorize(&auth, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.expect("body");
    for needle in [
        "<form method=\"POST\" action=\"/v2/auth/authorize/consent/\">",
        "name=\"client_key\" value=\"fake_client_key\"",
        "name=\"redirect_uri\" value=\"http://127.0.0.1:9000/lambda-url/callback/\"",
        "name=\"state\" value=\"a&quot;&lt;b&gt;&amp;c\"",
        "name=\"scope\" value=\"user.info.basic,video.list\"",
        "type=\"radio\" name=\"account\" id=\"account-0\" value=\"open-alice-0001\" checked",
        "value=\"open-bob-0002\"",
        "<label for=\"account-1\">Bob Builder (@bob.builds)</label>",
        "type=\"checkbox\" name=\"granted\" id=\"scope-0\" value=\"user.info.basic\" checked",
        "type=\"checkbox\" name=\"granted\" id=\"scope-1\" value=\"video.list\" checked",
        "<label for=\"scope-1\">",
        "name=\"decision\" value=\"approve\"",
        "name=\"decision\" value=\"deny\"",
    ] {
        assert!(body.contains(needle), "missing {needle} in {body}");
    }
    assert!(!body.contains("a\"<b>"), "state must be escaped");
}

#[tokio::test]
async fn approve_redirects_with_a_percent_encoded_code() {
    let env = env().await;
    let auth = Auth::new("user.info.basic,video.list");
    let resp = env
        .consent(&auth, ALICE, &["user.info.basic", "video.list"], "approve")
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let cookie = resp.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.starts_with("tt_fake_session=open-alice-0001;"),
        "{cookie}"
    );
    let loc = location(&resp);
    assert!(loc.starts_with(&format!("{REDIRECT}?code=")), "{loc}");
    assert!(loc.contains("%2A0%21") && loc.contains(".u1&"), "{loc}");
    assert!(!loc.contains('*') && !loc.contains('!'), "{loc}");
    assert!(
        loc.contains("&scopes=user.info.basic%2Cvideo.list&state=st-123"),
        "{loc}"
    );
    let q = query_of(&loc);
    let code = &q["code"];
    assert!(
        code.contains('*') && code.contains('!') && code.ends_with(".u1"),
        "{code}"
    );
    assert_eq!(q["scopes"], "user.info.basic,video.list");
    assert_eq!(q["state"], "st-123");
}

#[tokio::test]
async fn deny_and_empty_grant_redirect_with_access_denied() {
    let env = env().await;
    let auth = Auth::new("user.info.basic,video.list");
    for resp in [
        env.consent(&auth, ALICE, &["user.info.basic"], "deny")
            .await,
        env.consent(&auth, ALICE, &[], "approve").await,
    ] {
        assert_eq!(resp.status(), StatusCode::FOUND);
        let q = query_of(&location(&resp));
        assert_eq!(q["error"], "access_denied");
        assert!(!q["error_description"].is_empty());
        assert_eq!(q["state"], "st-123");
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn partial_grant_limits_scopes() {
    let env = env().await;
    let auth = Auth::new("user.info.basic,video.list");
    let resp = env
        .consent(&auth, ALICE, &["user.info.basic"], "approve")
        .await;
    let q = query_of(&location(&resp));
    assert_eq!(q["scopes"], "user.info.basic");
    let (_, tokens) = env.exchange(&q["code"], None).await;
    assert_eq!(s(&tokens, "scope"), "user.info.basic");
    let (status, body) = env
        .video_list(s(&tokens, "access_token"), "id", serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err_code(&body), "scope_not_authorized");

    // user.info.basic itself may be unticked too (TikTok's rule is unconfirmed).
    let resp = env.consent(&auth, ALICE, &["video.list"], "approve").await;
    assert_eq!(query_of(&location(&resp))["scopes"], "video.list");
}

#[tokio::test]
async fn switch_account_picks_the_user() {
    let env = env().await;
    let code = env.code_for(&Auth::new("user.info.basic"), BOB).await;
    let (_, tokens) = env.exchange(&code, None).await;
    assert_eq!(s(&tokens, "open_id"), BOB);
}

#[tokio::test]
async fn consent_form_contract_is_enforced() {
    let env = env().await;
    let auth = Auth::new("user.info.basic");
    assert_error_page(
        env.consent(&auth, ALICE, &["video.list"], "approve").await,
        StatusCode::BAD_REQUEST,
        "granted",
    )
    .await;
    assert_error_page(
        env.consent(&auth, "open-nobody", &["user.info.basic"], "approve")
            .await,
        StatusCode::BAD_REQUEST,
        "account",
    )
    .await;
    assert_error_page(
        env.consent(&auth, ALICE, &["user.info.basic"], "maybe")
            .await,
        StatusCode::BAD_REQUEST,
        "decision",
    )
    .await;
    // The hidden originals are re-validated.
    let tampered = auth.with("redirect_uri", "https://evil.example/cb/");
    assert_error_page(
        env.consent(&tampered, ALICE, &["user.info.basic"], "approve")
            .await,
        StatusCode::OK,
        "redirect_uri",
    )
    .await;
}

#[tokio::test]
async fn silent_reauth_unless_disabled() {
    let env = env().await;
    let auth = Auth::new("user.info.basic,video.list");
    let cookie = "tt_fake_session=open-alice-0001";
    // Never approved in this browser: the page is shown.
    assert_eq!(
        env.authorize(&auth, Some(cookie)).await.status(),
        StatusCode::OK
    );
    env.code_for(&auth, ALICE).await;

    let resp = env.authorize(&auth, Some(cookie)).await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let q = query_of(&location(&resp));
    assert_eq!(q["scopes"], "user.info.basic,video.list");
    let (status, tokens) = env.exchange(&q["code"], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s(&tokens, "open_id"), ALICE);

    let explicit = auth.clone().with("disable_auto_auth", "0");
    assert_eq!(
        env.authorize(&explicit, Some(cookie)).await.status(),
        StatusCode::FOUND
    );
    let forced = auth.clone().with("disable_auto_auth", "1");
    let page = env.authorize(&forced, Some(cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains("name=\"disable_auto_auth\" value=\"1\"")
    );
    // No cookie, or other scopes: the page again.
    assert_eq!(env.authorize(&auth, None).await.status(), StatusCode::OK);
    let more = Auth::new("user.info.basic,video.list,user.info.stats");
    assert_eq!(
        env.authorize(&more, Some(cookie)).await.status(),
        StatusCode::OK
    );
    // After the user removed the app, consent is asked again.
    env.fake.revoke_grants(ALICE);
    assert_eq!(
        env.authorize(&auth, Some(cookie)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn sandbox_rejects_non_target_users() {
    let env = env_with(FakeConfig {
        sandbox_targets: Some(vec![BOB.to_owned()]),
        ..FakeConfig::default()
    })
    .await;
    let auth = Auth::new("user.info.basic");
    let resp = env
        .consent(&auth, ALICE, &["user.info.basic"], "approve")
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);
    let q = query_of(&location(&resp));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_type"], "non_sandbox_target");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));
    let code = env.code_for(&auth, BOB).await;
    assert_eq!(env.exchange(&code, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn desktop_wildcard_port_redirect() {
    let env = env_with(FakeConfig {
        redirect_uris: vec!["http://127.0.0.1:*/callback/".to_owned()],
        ..FakeConfig::default()
    })
    .await;
    let auth = Auth::new("user.info.basic").with("redirect_uri", "http://127.0.0.1:5000/callback/");
    let resp = env
        .consent(&auth, ALICE, &["user.info.basic"], "approve")
        .await;
    let loc = location(&resp);
    assert!(
        loc.starts_with("http://127.0.0.1:5000/callback/?code="),
        "{loc}"
    );
    let code = query_of(&loc).remove("code").expect("code");
    // The token call must repeat the concrete URI, not the registered pattern.
    let (_, body) = env.exchange(&code, None).await;
    assert_eq!(s(&body, "error"), "invalid_request");
    let (_, body) = env
        .token_form(&[
            ("client_key", "fake_client_key"),
            ("client_secret", "fake_client_secret"),
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:5000/callback/"),
        ])
        .await;
    assert!(body.get("access_token").is_some(), "{body}");
    let bad = Auth::new("user.info.basic").with("redirect_uri", "http://127.0.0.1/callback/");
    assert_error_page(
        env.authorize(&bad, None).await,
        StatusCode::OK,
        "redirect_uri",
    )
    .await;
}
