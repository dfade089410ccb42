//! The connect flow end to end: the authorize and callback functions against moto (DynamoDB, KMS,
//! Secrets Manager over the real SDKs) and the fake TikTok over HTTP. Every test ends by scanning
//! the table and the captured logs for any token, code, secret or JWT.

use std::time::Duration;

use connect_domain::pkce::PkceMode;
use connect_domain::store::AccountStatus;
use fake_tiktok::{Endpoint, Failure};
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, BOB, body_json, param};
use integration_tests::{ConsentChoice, Stack, StackOptions};

async fn stack() -> Stack {
    Stack::start(StackOptions::default()).await
}

/// Nothing in the table but the per-minute counts of connect starts (`RATE#…`).
async fn nothing_but_start_counts(stack: &Stack) -> bool {
    stack
        .table_dump()
        .await
        .iter()
        .all(|item| item["pk"].starts_with("RATE#"))
}

fn assert_error(location: &url::Url, reason: &str) {
    assert_eq!(
        param(location, "tiktok").as_deref(),
        Some("error"),
        "{location}"
    );
    assert_eq!(
        param(location, "reason").as_deref(),
        Some(reason),
        "{location}"
    );
}

#[tokio::test]
async fn happy_path_with_every_scope_stores_encrypted_tokens_and_profile() {
    let stack = stack().await;
    let location = stack
        .connect("user-1", "", &ConsentChoice::approve(ALICE))
        .await;

    assert_eq!(
        location.origin().ascii_serialization(),
        "https://app.example.com"
    );
    assert_eq!(param(&location, "tiktok").as_deref(), Some("pending"));
    assert!(
        stack.accounts_of("user-1").await.is_empty(),
        "nothing is connected before the app user confirms"
    );
    let confirmed = stack.confirmed("user-1", &location).await;
    assert_eq!(confirmed["open_id"], ALICE);
    assert_eq!(confirmed["took_over"], false);

    let account = stack
        .listed_account("user-1", ALICE)
        .await
        .expect("account stored");
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(
        account.scopes.to_comma_list(),
        "user.info.basic,user.info.profile,user.info.stats,video.list"
    );
    assert_eq!(account.display_name.as_deref(), Some("Alice Dancer"));
    assert_eq!(account.username.as_deref(), Some("alice.dances"));
    assert!(
        account
            .avatar_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    );
    assert!(account.union_id.is_some());
    let now = connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock);
    // TikTok's current lifetimes, the fake's default: 2 hours and 180 days.
    assert!((account.access_token_expires_at - (now + 7_200)).abs() <= 5);
    assert!((account.refresh_token_expires_at - (now + 15_552_000)).abs() <= 5);
    assert_eq!(account.token_version, 1);

    // The stored ciphertext opens only under this record's context and holds TikTok's tokens.
    let tokens = stack.tokens_of(&account).await;
    assert!(tokens.access_token.secret().starts_with("act."));
    assert!(tokens.refresh_token.secret().starts_with("rft."));
    assert_eq!(stack.fake.calls(Endpoint::Token), 1);
    assert_eq!(stack.fake.calls(Endpoint::UserInfo), 1);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn partial_grant_is_stored_as_granted_and_profile_fields_follow_scopes() {
    let stack = stack().await;
    let choice = ConsentChoice {
        account: ALICE,
        granted: Some(vec!["user.info.basic", "video.list"]),
        approve: true,
    };
    let location = stack.connect("user-1", "", &choice).await;
    stack.confirmed("user-1", &location).await;
    let account = stack
        .listed_account("user-1", ALICE)
        .await
        .expect("account");
    assert_eq!(account.scopes.to_comma_list(), "user.info.basic,video.list");
    // Without user.info.profile we must not ask for `username` (TikTok would refuse the whole call).
    assert_eq!(account.display_name.as_deref(), Some("Alice Dancer"));
    assert_eq!(account.username, None);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn requested_scopes_narrow_the_authorize_url() {
    let stack = stack().await;
    let url = stack
        .start_connect("user-1", "scopes=user.info.basic,video.list")
        .await;
    assert_eq!(
        param(&url, "scope").as_deref(),
        Some("user.info.basic,video.list")
    );
    assert!(
        url.as_str().contains("scope=user.info.basic,video.list&"),
        "literal commas: {url}"
    );
    assert_eq!(
        param(&url, "client_key").as_deref(),
        Some("fake_client_key")
    );
    assert_eq!(param(&url, "response_type").as_deref(), Some("code"));
    assert_eq!(
        param(&url, "redirect_uri").as_deref(),
        Some(integration_tests::stack::REDIRECT_URI)
    );
    assert_eq!(param(&url, "disable_auto_auth").as_deref(), Some("1"));
    assert!(param(&url, "state").is_some_and(|s| s.len() >= 43));
    assert!(param(&url, "code_challenge").is_none());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn consent_denied_returns_access_denied_and_stores_nothing() {
    let stack = stack().await;
    let choice = ConsentChoice {
        account: ALICE,
        granted: None,
        approve: false,
    };
    let location = stack.connect("user-1", "", &choice).await;
    assert_error(&location, "access_denied");
    assert!(stack.accounts_of("user-1").await.is_empty());
    assert_eq!(stack.fake.calls(Endpoint::Token), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn replayed_state_changes_nothing() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    let first = Stack::app_location(&stack.deliver_callback(&redirect).await);
    stack.confirmed("user-1", &first).await;
    let before = stack.account("user-1", ALICE).await.expect("account");

    let replay = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert_error(&replay, "invalid_state");
    assert_eq!(stack.account("user-1", ALICE).await, Some(before));
    assert_eq!(
        stack.fake.calls(Endpoint::Token),
        1,
        "a replay never reaches TikTok"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn expired_state_is_refused() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    stack.clock.advance(601);
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert_error(&location, "invalid_state");
    assert!(stack.accounts_of("user-1").await.is_empty());
    assert_eq!(stack.fake.calls(Endpoint::Token), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn unknown_forged_or_missing_state_is_refused() {
    let stack = stack().await;
    for query in [
        "code=abc%2A0%216410.u1&scopes=user.info.basic&state=forged-state-value",
        "code=abc%2A0%216410.u1&scopes=user.info.basic",
        "code=abc&state=",
    ] {
        let location = Stack::app_location(&stack.call_callback(query).await);
        assert_eq!(
            location.as_str(),
            "https://app.example.com/settings?tiktok=error&reason=invalid_state"
        );
    }
    // Ambiguous or oversized input is refused before anything is looked up.
    let dup = Stack::app_location(&stack.call_callback("state=a&state=b").await);
    assert_error(&dup, "invalid_request");
    let huge = format!("state={}", "x".repeat(10_000));
    assert_error(
        &Stack::app_location(&stack.call_callback(&huge).await),
        "invalid_request",
    );
    assert_eq!(stack.fake.calls(Endpoint::Token), 0);
    assert!(stack.table_dump().await.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn state_survives_a_missing_code_only_once() {
    // A callback with a valid state but no code consumes the state: the user must start over.
    let stack = stack().await;
    let url = stack.start_connect("user-1", "").await;
    let state = param(&url, "state").expect("state");
    let query = format!("state={state}&scopes=user.info.basic");
    assert_error(
        &Stack::app_location(&stack.call_callback(&query).await),
        "invalid_request",
    );
    assert_error(
        &Stack::app_location(&stack.call_callback(&query).await),
        "invalid_state",
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn token_exchange_error_with_http_200_stores_nothing() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    stack.fake.fail_next(
        Endpoint::Token,
        Failure::OAuthError200 {
            error: "invalid_grant".into(),
            description: "Authorization code is expired.".into(),
        },
        1,
    );
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert_error(&location, "token_exchange_failed");
    assert!(stack.accounts_of("user-1").await.is_empty());
    assert!(
        nothing_but_start_counts(&stack).await,
        "state consumed, nothing else written"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_server_errors_at_exchange_send_the_user_back_with_a_reason() {
    let stack = stack().await;
    for failure in [
        Failure::Status500,
        Failure::Html502,
        Failure::MalformedJson,
        Failure::ConnectionReset,
    ] {
        let redirect = stack.approved_redirect("user-1", ALICE).await;
        stack.fake.fail_next(Endpoint::Token, failure.clone(), 1);
        let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
        assert_error(&location, "tiktok_unavailable");
    }
    assert!(stack.accounts_of("user-1").await.is_empty());
    assert!(nothing_but_start_counts(&stack).await);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_timeout_at_exchange_is_bounded_and_stores_nothing() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    stack.fake.fail_next(
        Endpoint::Token,
        Failure::Timeout(Duration::from_secs(30)),
        1,
    );
    let started = std::time::Instant::now();
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    let waited = started.elapsed();
    assert_error(&location, "tiktok_unavailable");
    assert!(
        waited < Duration::from_secs(10),
        "the call gave up after {waited:?}"
    );
    assert!(stack.accounts_of("user-1").await.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn code_with_star_and_bang_is_decoded_exactly_once() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    assert!(
        redirect.contains("%2A") && redirect.contains("%21"),
        "TikTok percent-encodes * and !"
    );
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    stack.confirmed("user-1", &location).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn reconnecting_replaces_tokens_without_duplicating_the_account() {
    let stack = stack().await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    let first = stack.account("user-1", ALICE).await.expect("first");
    let first_tokens = stack.tokens_of(&first).await;

    stack.clock.advance(30);
    let location = stack
        .connect("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    stack.confirmed("user-1", &location).await;
    let accounts = stack.accounts_of("user-1").await;
    assert_eq!(accounts.len(), 1);
    let second = &accounts[0];
    assert_eq!(second.token_version, 2);
    assert!(second.connected_at > first.connected_at);
    let second_tokens = stack.tokens_of(second).await;
    assert_ne!(second_tokens.access_token, first_tokens.access_token);
    assert_ne!(second_tokens.refresh_token, first_tokens.refresh_token);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn one_app_user_can_connect_two_tiktok_accounts() {
    let stack = stack().await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(BOB))
        .await;
    let mut open_ids: Vec<String> = stack
        .accounts_of("user-1")
        .await
        .into_iter()
        .map(|a| a.open_id.into())
        .collect();
    open_ids.sort();
    assert_eq!(open_ids, vec![ALICE.to_owned(), BOB.to_owned()]);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_newer_connection_by_another_app_user_takes_the_account_over() {
    let stack = stack().await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    stack
        .connect_confirmed("user-2", "", &ConsentChoice::approve(ALICE))
        .await;
    assert!(
        stack.account("user-1", ALICE).await.is_none(),
        "previous owner's record removed"
    );
    let account = stack.account("user-2", ALICE).await.expect("new owner");
    stack.tokens_of(&account).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn ciphertext_moved_to_another_record_does_not_decrypt() {
    let stack = stack().await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(BOB))
        .await;
    let alice = stack.account("user-1", ALICE).await.expect("alice");
    let bob = stack.account("user-1", BOB).await.expect("bob");
    let moved = connect_domain::cipher::open_tokens(
        &stack.cipher,
        &connect_domain::cipher::EncryptionContext::tokens(&bob.app_user, &bob.open_id),
        &alice.sealed_tokens,
    )
    .await;
    assert!(
        matches!(moved, Err(connect_domain::cipher::CipherError::Invalid)),
        "{moved:?}"
    );
    let other_user = connect_domain::cipher::open_tokens(
        &stack.cipher,
        &connect_domain::cipher::EncryptionContext::tokens("user-2", &alice.open_id),
        &alice.sealed_tokens,
    )
    .await;
    assert!(other_user.is_err());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn pkce_hex_and_base64url_complete_against_a_strict_tiktok() {
    for pkce in [PkceMode::S256Hex, PkceMode::S256Base64Url] {
        let stack = Stack::start(StackOptions {
            pkce,
            ..StackOptions::default()
        })
        .await;
        let url = stack.start_connect("user-1", "").await;
        assert_eq!(
            param(&url, "code_challenge_method").as_deref(),
            Some("S256")
        );
        let challenge = param(&url, "code_challenge").expect("challenge");
        assert_eq!(
            challenge.len(),
            if pkce == PkceMode::S256Hex { 64 } else { 43 }
        );
        let redirect = stack.consent(&url, &ConsentChoice::approve(ALICE)).await;
        let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
        stack.confirmed("user-1", &location).await;
        // The verifier is stored only encrypted, and the state item is gone after use.
        assert!(
            stack
                .table_dump()
                .await
                .iter()
                .all(|item| !item["pk"].starts_with("STATE#"))
        );
        stack.assert_nothing_leaked().await;
    }
}

#[tokio::test]
async fn return_to_must_be_on_the_allow_list() {
    let stack = stack().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    for bad in [
        "https%3A%2F%2Fevil.com%2F",
        "%2F%2Fevil.com",
        "https%3A%2F%2Fapp.example.com.evil.com%2F",
        "https%3A%2F%2Fapp.example.com%40evil.com%2F",
        "javascript%3Aalert(1)",
        "https%3A%2F%2Fapp.example.com%5C%40evil.com",
    ] {
        let response = stack
            .call_authorize(&format!("return_to={bad}"), Some(&bearer))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(body_json(&response)["error"], "invalid_request");
    }
    assert!(
        stack.table_dump().await.is_empty(),
        "a refused request stores no state"
    );

    // Allowed: same origin as APP_RETURN_URL, or exactly listed; the browser lands there.
    let listed = "https%3A%2F%2Fpartner.example.net%2Ftiktok-done";
    let url = stack
        .start_connect("user-1", &format!("return_to={listed}"))
        .await;
    let redirect = stack.consent(&url, &ConsentChoice::approve(ALICE)).await;
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert!(
        location
            .as_str()
            .starts_with("https://partner.example.net/tiktok-done?tiktok=pending")
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn scopes_outside_the_configured_set_are_refused() {
    let stack = Stack::start(StackOptions {
        scopes: "user.info.basic",
        ..StackOptions::default()
    })
    .await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    for query in [
        "scopes=video.list",
        "scopes=user.info.basic,video.publish",
        "scopes=user.info.basic%20video.list",
    ] {
        let response = stack.call_authorize(query, Some(&bearer)).await;
        assert_eq!(response.status(), 400, "{query}");
        let body = body_json(&response);
        assert_eq!(body["error"], "invalid_request");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn authorize_requires_a_valid_app_jwt() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let stack = stack().await;
    let now = connect_domain::clock::Clock::now(&connect_domain::clock::SystemClock);
    let sign = |claims: serde_json::Value, key: &str| {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .expect("sign")
    };
    let expired = sign(
        serde_json::json!({"sub": "user-1", "exp": now - 3600}),
        &stack.jwt_secret,
    );
    let wrong_key = sign(
        serde_json::json!({"sub": "user-1", "exp": now + 600}),
        "not-the-key",
    );
    let alg_none =
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyLTEiLCJleHAiOjQxMDI0NDQ4MDB9.";
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("expired", Some(format!("Bearer {expired}"))),
        ("wrong signature", Some(format!("Bearer {wrong_key}"))),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        ("not bearer", Some(format!("Basic {}", stack.jwt("user-1")))),
    ];
    for (name, header) in cases {
        let response = stack.call_authorize("", header.as_deref()).await;
        assert_eq!(response.status(), 401, "{name}");
        let body = body_json(&response);
        assert_eq!(body["error"], "unauthorized", "{name}");
    }
    assert!(stack.table_dump().await.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn wrong_methods_get_405_json() {
    let stack = stack().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let event = integration_tests::api_event(
        "POST",
        "/tiktok/authorize",
        "",
        &[("authorization", &bearer)],
    );
    let response = authorize::handle(&stack.authorize, event)
        .await
        .expect("handler");
    assert_eq!(response.status(), 405);
    assert_eq!(body_json(&response)["error"], "method_not_allowed");
    let event = integration_tests::api_event("DELETE", "/tiktok/callback", "state=x", &[]);
    let response = callback::handle(&stack.callback, event)
        .await
        .expect("handler");
    assert_eq!(response.status(), 405);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn profile_failure_at_connect_still_stores_the_grant() {
    let stack = stack().await;
    let redirect = stack.approved_redirect("user-1", ALICE).await;
    stack
        .fake
        .fail_next(Endpoint::UserInfo, Failure::Status500, 1);
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    stack.confirmed("user-1", &location).await;
    let account = stack
        .listed_account("user-1", ALICE)
        .await
        .expect("account");
    assert_eq!(account.display_name, None);
    stack.tokens_of(&account).await;
    stack.assert_nothing_leaked().await;
}

/// Account-linking CSRF (RFC 9700 §4.7): an attacker starts a connect for their own app user and
/// sends TikTok's genuine consent URL to a victim, who approves it. Before pending connections
/// the callback stored the victim's grant under the attacker (and took the victim's own record
/// over); now nothing is stored until the state's own app user confirms.
#[tokio::test]
async fn a_victim_approving_an_attackers_connect_link_gives_the_attacker_nothing() {
    let stack = stack().await;
    let link = stack
        .start_connect("attacker", "scopes=user.info.basic,video.list")
        .await;
    let redirect = stack.consent(&link, &ConsentChoice::approve(ALICE)).await;
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert_eq!(param(&location, "tiktok").as_deref(), Some("pending"));
    assert!(stack.accounts_of("attacker").await.is_empty());

    // The victim's browser lands on the app signed in as the victim: the confirm is refused, the
    // grant revoked at TikTok (no account of this TikTok user is connected here).
    let (status, body) = answer(&stack.confirm_connection("victim", &location).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("connection_mismatch"))
    );
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1);
    assert_eq!(stack.fake.live_refresh_tokens(ALICE), 0);

    // The attacker, who holds the state's app user but not the id, cannot use it afterwards.
    let (status, body) = answer(&stack.confirm_connection("attacker", &location).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("connection_not_found"))
    );
    assert!(stack.accounts_of("attacker").await.is_empty());
    assert!(stack.accounts_of("victim").await.is_empty());
    assert!(
        stack
            .table_dump()
            .await
            .iter()
            .all(|item| !item["pk"].starts_with("CONNECTION#")),
        "the pending connection is gone"
    );
    stack.assert_nothing_leaked().await;
}

/// The same attack on a victim who already connected that TikTok account: the victim's record is
/// neither taken over nor disconnected (TikTok's revoke would disconnect the whole TikTok account,
/// so the stray grant is only forgotten).
#[tokio::test]
async fn an_attackers_link_cannot_take_over_or_cut_a_victims_existing_connection() {
    let stack = stack().await;
    stack
        .connect_confirmed("victim", "", &ConsentChoice::approve(ALICE))
        .await;
    let before = stack
        .account("victim", ALICE)
        .await
        .expect("victim's account");

    let link = stack.start_connect("attacker", "").await;
    let redirect = stack.consent(&link, &ConsentChoice::approve(ALICE)).await;
    let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
    assert_eq!(stack.account("victim", ALICE).await, Some(before.clone()));
    let (status, body) = answer(&stack.confirm_connection("victim", &location).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("connection_mismatch"))
    );
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 0, "not revoked");
    assert!(stack.accounts_of("attacker").await.is_empty());
    assert_eq!(stack.account("victim", ALICE).await, Some(before));
    let (status, me) = answer(&stack.get_me("victim", "").await);
    assert_eq!(status, 200, "the victim's connection still works: {me}");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_takeover_happens_only_through_a_confirm_and_says_so() {
    let stack = stack().await;
    stack
        .connect_confirmed("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    let location = stack
        .connect("user-2", "", &ConsentChoice::approve(ALICE))
        .await;
    assert!(
        stack.account("user-1", ALICE).await.is_some(),
        "user-1 keeps the account until user-2 confirms"
    );
    let confirmed = stack.confirmed("user-2", &location).await;
    assert_eq!(confirmed["took_over"], true);
    assert_eq!(confirmed["open_id"], ALICE);
    assert_eq!(confirmed["status"], "active");
    assert!(confirmed.get("access_token").is_none());
    assert!(stack.account("user-1", ALICE).await.is_none());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_cancelled_or_expired_connection_cannot_be_confirmed() {
    let stack = stack().await;
    let location = stack
        .connect("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    let id = param(&location, "connection_id").expect("id");
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let cancel = stack
        .send(
            "DELETE",
            &format!("/tiktok/connections/{id}"),
            "",
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(cancel.status(), 204);
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1, "revoked at TikTok");
    let (status, body) = answer(&stack.confirm_connection("user-1", &location).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("connection_not_found"))
    );

    let location = stack
        .connect("user-1", "", &ConsentChoice::approve(ALICE))
        .await;
    stack
        .clock
        .advance(connect_services::connect::PENDING_TTL_SECS);
    let (status, body) = answer(&stack.confirm_connection("user-1", &location).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("connection_not_found"))
    );
    assert!(stack.accounts_of("user-1").await.is_empty());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn the_connection_routes_answer_bad_requests_precisely() {
    let stack = stack().await;
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let unknown = "A".repeat(43);
    let confirm = format!("/tiktok/connections/{unknown}/confirm");
    // (method, path, signed in, status, error)
    let cases = [
        ("POST", confirm.clone(), false, 401, "unauthorized"),
        ("POST", confirm.clone(), true, 404, "connection_not_found"),
        (
            "POST",
            "/tiktok/connections/short/confirm".into(),
            true,
            400,
            "invalid_request",
        ),
        (
            "POST",
            format!("/tiktok/connections/{unknown}%2F/confirm"),
            true,
            400,
            "invalid_request",
        ),
        ("GET", confirm, true, 405, "method_not_allowed"),
        (
            "DELETE",
            format!("/tiktok/connections/{unknown}"),
            true,
            404,
            "connection_not_found",
        ),
    ];
    for (method, path, signed_in, status, error) in cases {
        let headers: &[(&str, &str)] = if signed_in {
            &[("authorization", bearer.as_str())]
        } else {
            &[]
        };
        let (got, body) = answer(&stack.send(method, &path, "", headers).await);
        assert_eq!(
            (got, body["error"].as_str()),
            (status, Some(error)),
            "{method} {path}"
        );
    }
    assert!(stack.table_dump().await.is_empty(), "nothing written");
    stack.assert_nothing_leaked().await;
}

/// One app user holding their JWT cannot flood the table with states: the 31st connect start in a
/// minute is `429` with `Retry-After` and stores nothing; another user is not held back, and the
/// next minute the user may start again (counted in DynamoDB, so across Lambda instances).
#[tokio::test]
async fn an_app_user_starts_at_most_thirty_connects_a_minute() {
    let stack = stack().await;
    let now = connect_domain::clock::Clock::now(&stack.clock);
    stack.clock.advance(60 - now.rem_euclid(60));
    for _ in 0..30 {
        stack.start_connect("user-1", "").await;
    }
    let bearer = format!("Bearer {}", stack.jwt("user-1"));
    let refused = stack.call_authorize("", Some(&bearer)).await;
    let retry_after = integration_tests::flow::header(&refused, "retry-after").map(str::to_owned);
    let (status, body) = answer(&refused);
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    let wait: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "until the minute ends: {wait}");
    let states = |dump: &[std::collections::HashMap<String, String>]| {
        dump.iter()
            .filter(|i| i["pk"].starts_with("STATE#"))
            .count()
    };
    assert_eq!(
        states(&stack.table_dump().await),
        30,
        "the refused start stored nothing"
    );
    stack.start_connect("user-2", "").await;
    stack.clock.advance(60);
    stack.start_connect("user-1", "").await;
    stack.assert_nothing_leaked().await;
}
