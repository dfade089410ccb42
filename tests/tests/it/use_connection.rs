//! Using a connection (issue "use the connection"): profile, videos, accounts and disconnect, with
//! the on-demand refresh, against moto and the fake TikTok over HTTP. Every test ends with the
//! no-plaintext and no-secret-in-logs checks.

use std::collections::HashSet;
use std::sync::Arc;

use connect_domain::store::AccountStatus;
use fake_tiktok::{Endpoint, Failure};
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, BOB, header};
use integration_tests::{Stack, StackOptions};
use tokio::task::JoinSet;

const USER: &str = "app-user-1";

async fn stack_with_alice(granted: Option<Vec<&'static str>>) -> Stack {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, granted).await;
    stack
}

/// The refresh token TikTok issued last: the only one that still works under strict rotation.
fn newest_refresh_token(stack: &Stack) -> String {
    stack
        .fake
        .issued_secrets()
        .into_iter()
        .rfind(|s| s.starts_with("rft."))
        .expect("a refresh token was issued")
}

/// Alice's grant is gone at TikTok and her account is forgotten here.
async fn assert_disconnected(stack: &Stack) {
    assert_eq!(
        stack.fake.live_refresh_tokens(ALICE),
        0,
        "grant gone at TikTok"
    );
    assert!(stack.account(USER, ALICE).await.is_none());
}

/// Makes the access token expired for TikTok and, unless `only_tiktok`, for our clock too.
fn expire_access_token(stack: &Stack, only_tiktok: bool) {
    stack.fake.expire_access_tokens(ALICE);
    if !only_tiktok {
        // Past the fake's access lifetime (2 h; a day covers the classic 24 h too) on our side too.
        stack.clock.advance(86_400 + 60);
    }
}

#[tokio::test]
async fn profile_with_basic_scopes_only_has_basic_fields() {
    let stack = stack_with_alice(Some(vec!["user.info.basic"])).await;
    let (status, me) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["open_id"], ALICE);
    assert!(me["display_name"].is_string() && me["avatar_url"].is_string());
    assert!(me["union_id"].is_string());
    for absent in [
        "username",
        "bio_description",
        "follower_count",
        "video_count",
    ] {
        assert!(
            me.get(absent).is_none(),
            "{absent} needs another scope: {me}"
        );
    }
    assert_eq!(me["scopes"], serde_json::json!(["user.info.basic"]));
    assert_eq!(me["status"], "active");
    let account = stack.account(USER, ALICE).await.expect("stored");
    assert_eq!(
        me["access_token_expires_at"],
        account.access_token_expires_at
    );
    assert_eq!(
        me["refresh_token_expires_at"],
        account.refresh_token_expires_at
    );
    assert_eq!(me["connected_at"], account.connected_at);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn profile_with_profile_and_stats_scopes() {
    let stack = stack_with_alice(None).await;
    let (status, me) = answer(&stack.get_me(USER, &format!("open_id={ALICE}")).await);
    assert_eq!(status, 200, "{me}");
    assert!(me["username"].is_string(), "{me}");
    assert!(me["bio_description"].is_string() && me["is_verified"].is_boolean());
    for count in [
        "follower_count",
        "following_count",
        "likes_count",
        "video_count",
    ] {
        assert!(me[count].is_i64(), "{count}: {me}");
    }
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn video_pages_followed_to_the_end_by_cursor() {
    let stack = stack_with_alice(None).await;
    let mut ids = Vec::new();
    let mut query = "max_count=10".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = answer(&stack.get_videos(USER, &query).await);
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let videos = page["videos"].as_array().expect("videos");
        for video in videos {
            let id = video["id"].as_str().expect("id is a string");
            assert!(id.len() >= 19, "ids keep all their digits: {id}");
            assert!(video["create_time"].is_i64() && video["share_url"].is_string());
            ids.push(id.to_owned());
        }
        if page["has_more"] == false {
            assert!(
                page["cursor"].is_null(),
                "no cursor on the last page: {page}"
            );
            break;
        }
        let cursor = page["cursor"].as_i64().expect("cursor while has_more");
        query = format!("max_count=10&cursor={cursor}");
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(ids.len(), 25, "alice has 25 videos");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 25, "no repeats");
    assert_eq!(stack.fake.calls(Endpoint::VideoList), 3);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn bad_max_count_is_refused_before_tiktok() {
    let stack = stack_with_alice(None).await;
    for bad in ["0", "21", "-1", "abc", "", "1.5"] {
        let (status, body) = answer(&stack.get_videos(USER, &format!("max_count={bad}")).await);
        assert_eq!(status, 400, "max_count={bad}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .contains("max_count")
        );
    }
    for bad in ["cursor=0", "cursor=-3", "cursor=soon", "maxcount=5"] {
        let (status, _) = answer(&stack.get_videos(USER, bad).await);
        assert_eq!(status, 400, "{bad}");
    }
    assert_eq!(stack.fake.calls(Endpoint::VideoList), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn videos_without_the_video_list_scope() {
    let stack = stack_with_alice(Some(vec!["user.info.basic", "user.info.profile"])).await;
    let (status, body) = answer(&stack.get_videos(USER, "").await);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "scope_missing");
    assert_eq!(body["scope"], "video.list");
    assert_eq!(stack.fake.calls(Endpoint::VideoList), 0, "TikTok not asked");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn not_connected() {
    let stack = Stack::start(StackOptions::default()).await;
    for response in [
        stack.get_me(USER, "").await,
        stack.get_videos(USER, "").await,
        stack.get_me(USER, "open_id=nobody").await,
        stack.delete_account(USER, "nobody").await,
    ] {
        let (status, body) = answer(&response);
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "not_connected");
    }
    let (status, body) = answer(&stack.get_accounts(USER).await);
    assert_eq!((status, body), (200, serde_json::json!({"accounts": []})));
    assert_eq!(stack.fake.calls(Endpoint::Any), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn another_users_open_id_is_not_found_and_untouched() {
    let stack = stack_with_alice(None).await;
    let intruder = "app-user-2";
    let query = format!("open_id={ALICE}");
    for response in [
        stack.get_me(intruder, &query).await,
        stack.get_videos(intruder, &query).await,
        stack.get_me(intruder, "").await,
        stack.delete_account(intruder, ALICE).await,
    ] {
        let (status, body) = answer(&response);
        assert_eq!(status, 404, "{body}");
    }
    let (_, list) = answer(&stack.get_accounts(intruder).await);
    assert_eq!(list["accounts"], serde_json::json!([]));
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 0);
    let account = stack.account(USER, ALICE).await.expect("still there");
    assert_eq!(account.status, AccountStatus::Active);
    let (status, _) = answer(&stack.get_me(USER, &query).await);
    assert_eq!(status, 200, "the owner still uses it");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn accounts_lists_every_account_of_the_user_newest_first() {
    let stack = stack_with_alice(None).await;
    stack.clock.advance(5);
    stack.connect_account(USER, BOB, None).await;
    let (status, body) = answer(&stack.get_accounts(USER).await);
    assert_eq!(status, 200, "{body}");
    let accounts = body["accounts"].as_array().expect("accounts");
    let ids: Vec<&str> = accounts
        .iter()
        .filter_map(|a| a["open_id"].as_str())
        .collect();
    assert_eq!(ids, [BOB, ALICE]);
    for account in accounts {
        let mut keys: Vec<&str> = account
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "access_token_expires_at",
                "avatar_url",
                "connected_at",
                "display_name",
                "open_id",
                "refresh_token_expires_at",
                "scopes",
                "status"
            ]
        );
    }
    // Without open_id, /me is the most recently connected account.
    let (_, me) = answer(&stack.get_me(USER, "").await);
    assert_eq!(me["open_id"], BOB);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn expired_access_token_is_refreshed_transparently_and_the_rotation_stored() {
    let stack = stack_with_alice(None).await;
    let before = stack.account(USER, ALICE).await.expect("stored");
    expire_access_token(&stack, false);

    let (status, me) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        stack.fake.calls(Endpoint::Token),
        2,
        "exchange + one refresh"
    );

    let after = stack.account(USER, ALICE).await.expect("stored");
    assert_eq!(after.token_version, before.token_version + 1);
    assert!(after.access_token_expires_at > stack_now(&stack));
    assert_eq!(me["access_token_expires_at"], after.access_token_expires_at);
    assert_eq!(after.refresh_lease_until_ms, None, "lease cleared");
    let tokens = stack.tokens_of(&after).await;
    assert_eq!(tokens.refresh_token.secret(), newest_refresh_token(&stack));
    assert_eq!(stack.fake.live_refresh_tokens(ALICE), 1);

    // The next request uses the new token without refreshing again.
    let (status, _) = answer(&stack.get_videos(USER, "").await);
    assert_eq!(status, 200);
    assert_eq!(stack.fake.calls(Endpoint::Token), 2);
    stack.assert_nothing_leaked().await;
}

fn stack_now(stack: &Stack) -> i64 {
    use connect_domain::clock::Clock as _;
    stack.clock.now()
}

#[tokio::test]
async fn access_token_invalid_on_a_token_we_believed_fresh() {
    let stack = stack_with_alice(None).await;
    expire_access_token(&stack, true);
    for response in [
        stack.get_me(USER, "").await,
        stack.get_videos(USER, "").await,
    ] {
        let (status, body) = answer(&response);
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        stack.fake.calls(Endpoint::Token),
        2,
        "one refresh, then reused"
    );
    assert_eq!(
        stack.fake.calls(Endpoint::UserInfo),
        1 + 2,
        "connect + refused + retried"
    );
    let account = stack.account(USER, ALICE).await.expect("stored");
    let tokens = stack.tokens_of(&account).await;
    assert_eq!(tokens.refresh_token.secret(), newest_refresh_token(&stack));
    stack.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_requests_on_one_expired_token_refresh_once() {
    let stack = Arc::new(stack_with_alice(None).await);
    expire_access_token(&stack, false);
    let token_calls_before = stack.fake.calls(Endpoint::Token);

    let mut requests = JoinSet::new();
    for _ in 0..20 {
        let stack = Arc::clone(&stack);
        requests.spawn(async move { answer(&stack.get_me(USER, "").await) });
    }
    for (status, body) in requests.join_all().await {
        assert_eq!(status, 200, "{body}");
    }
    let refreshes = stack.fake.calls(Endpoint::Token) - token_calls_before;
    let story: Vec<String> = integration_tests::logs::text()
        .lines()
        .filter(|l| l.contains("refresh") || l.contains("retrying") || l.contains("TikTok"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        refreshes,
        1,
        "exactly one refresh reached TikTok; log:\n{}",
        story.join("\n")
    );
    let account = stack.account(USER, ALICE).await.expect("stored");
    assert_eq!(account.status, AccountStatus::Active);
    let tokens = stack.tokens_of(&account).await;
    assert_eq!(tokens.refresh_token.secret(), newest_refresh_token(&stack));
    assert_eq!(stack.fake.live_refresh_tokens(ALICE), 1);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn invalid_grant_on_refresh_means_reauth_required() {
    let stack = stack_with_alice(None).await;
    stack.fake.revoke_grants(ALICE);
    expire_access_token(&stack, false);
    let (status, body) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "reauth_required");
    let account = stack.account(USER, ALICE).await.expect("kept");
    assert_eq!(account.status, AccountStatus::ReauthRequired);

    // From now on TikTok is not bothered until the person reconnects.
    let calls = stack.fake.calls(Endpoint::Any);
    let (status, _) = answer(&stack.get_videos(USER, "").await);
    assert_eq!(status, 409);
    assert_eq!(stack.fake.calls(Endpoint::Any), calls);
    let (_, list) = answer(&stack.get_accounts(USER).await);
    assert_eq!(list["accounts"][0]["status"], "reauth_required");

    // Reconnecting heals the account.
    stack.connect_account(USER, ALICE, None).await;
    let (status, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_rate_limit_is_passed_on_with_retry_after() {
    let stack = stack_with_alice(None).await;
    stack
        .fake
        .fail_next(Endpoint::UserInfo, Failure::Status429, 1);
    let response = stack.get_me(USER, "").await;
    let (status, body) = answer(&response);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(body["tiktok_log_id"].is_string(), "{body}");
    let retry_after: u64 = header(&response, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry_after));
    assert_eq!(stack.fake.calls(Endpoint::UserInfo), 1 + 1, "not retried");

    // A throttled refresh leaves the account active and the next request recovers.
    expire_access_token(&stack, false);
    stack.fake.fail_next(Endpoint::Token, Failure::Status429, 1);
    let (status, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 429);
    let account = stack.account(USER, ALICE).await.expect("kept");
    assert_eq!(account.status, AccountStatus::Active);
    let (status, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200, "the lease was released, the refresh succeeds");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_5xx_is_retried_then_reported_with_its_log_id() {
    let stack = stack_with_alice(None).await;
    // One failure is absorbed by the retry.
    stack
        .fake
        .fail_next(Endpoint::VideoList, Failure::Status500, 1);
    let (status, body) = answer(&stack.get_videos(USER, "").await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(stack.fake.calls(Endpoint::VideoList), 2);

    // A persistent failure ends in a 502 after three tries.
    stack
        .fake
        .fail_next(Endpoint::UserInfo, Failure::Html502, 5);
    let before = stack.fake.calls(Endpoint::UserInfo);
    let (status, body) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "tiktok_error");
    assert_eq!(stack.fake.calls(Endpoint::UserInfo) - before, 3);

    // A failing refresh leaves the account active; the next request refreshes.
    expire_access_token(&stack, false);
    stack.fake.fail_next(Endpoint::Token, Failure::Status500, 3);
    let (status, body) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 502, "{body}");
    assert!(body["tiktok_log_id"].is_string(), "{body}");
    let account = stack.account(USER, ALICE).await.expect("kept");
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.refresh_lease_until_ms, None, "lease released");
    let (status, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200);
    let account = stack.account(USER, ALICE).await.expect("kept");
    let tokens = stack.tokens_of(&account).await;
    assert_eq!(tokens.refresh_token.secret(), newest_refresh_token(&stack));
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_with_a_live_access_token() {
    let stack = stack_with_alice(None).await;
    let response = stack.delete_account(USER, ALICE).await;
    assert_eq!(response.status(), 204);
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1);
    assert_disconnected(&stack).await;
    assert!(
        stack
            .table_dump()
            .await
            .iter()
            .all(|item| item["pk"].starts_with("RATE#")),
        "account and ownership records are gone (the connect starts' count stays until its TTL)"
    );
    let (status, _) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 404);
    let (status, _) = answer(&stack.delete_account(USER, ALICE).await);
    assert_eq!(status, 404, "a second delete finds nothing");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_with_an_expired_access_token_refreshes_first() {
    let stack = stack_with_alice(None).await;
    expire_access_token(&stack, false);
    let response = stack.delete_account(USER, ALICE).await;
    assert_eq!(response.status(), 204, "{:?}", answer(&response));
    assert_eq!(
        stack.fake.calls(Endpoint::Token),
        2,
        "refreshed before revoking"
    );
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1);
    assert_disconnected(&stack).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_when_tiktok_expired_the_token_early_refreshes_and_revokes() {
    let stack = stack_with_alice(None).await;
    expire_access_token(&stack, true);
    let response = stack.delete_account(USER, ALICE).await;
    assert_eq!(response.status(), 204, "{:?}", answer(&response));
    assert_eq!(
        stack.fake.calls(Endpoint::Revoke),
        2,
        "refused, then revoked"
    );
    assert_eq!(stack.fake.calls(Endpoint::Token), 2, "refreshed in between");
    assert_disconnected(&stack).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_keeps_the_account_when_tiktok_refuses_a_fresh_token() {
    let stack = stack_with_alice(None).await;
    let refused = Failure::OAuthError200 {
        error: "invalid_request".into(),
        description: "The request parameters are malformed.".into(),
    };
    stack.fake.fail_next(Endpoint::Revoke, refused, 2);
    let (status, body) = answer(&stack.delete_account(USER, ALICE).await);
    assert_eq!(status, 502, "{body}");
    assert_eq!(stack.fake.live_refresh_tokens(ALICE), 1);
    let account = stack
        .account(USER, ALICE)
        .await
        .expect("kept: the grant is alive");
    assert_eq!(account.status, AccountStatus::Active);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_of_a_grant_tiktok_already_revoked() {
    let stack = stack_with_alice(None).await;
    stack.fake.revoke_grants(ALICE);
    let response = stack.delete_account(USER, ALICE).await;
    assert_eq!(response.status(), 204, "{:?}", answer(&response));
    assert!(stack.account(USER, ALICE).await.is_none());
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn disconnect_keeps_the_account_when_tiktok_is_down() {
    let stack = stack_with_alice(None).await;
    stack
        .fake
        .fail_next(Endpoint::Revoke, Failure::Status500, 3);
    let (status, body) = answer(&stack.delete_account(USER, ALICE).await);
    assert_eq!(status, 502, "{body}");
    assert!(stack.account(USER, ALICE).await.is_some(), "nothing lost");
    let response = stack.delete_account(USER, ALICE).await;
    assert_eq!(response.status(), 204, "a retry succeeds");
    assert_eq!(stack.fake.live_refresh_tokens(ALICE), 0);
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn wrong_methods_and_hostile_input() {
    let stack = stack_with_alice(None).await;
    let bearer = format!("Bearer {}", stack.jwt(USER));
    let auth = [("authorization", bearer.as_str())];
    let event = |method: &str, path: &str, query: &str| {
        integration_tests::api_event(method, path, query, &auth)
    };
    let cases = [
        (
            user_info::handle(&stack.api, event("POST", "/tiktok/me", "")).await,
            405,
        ),
        (
            video_list::handle(&stack.api, event("DELETE", "/tiktok/videos", "")).await,
            405,
        ),
        (
            accounts::handle(&stack.accounts_api, event("PUT", "/tiktok/accounts", "")).await,
            405,
        ),
        (
            accounts::handle(&stack.accounts_api, event("DELETE", "/tiktok/accounts", "")).await,
            405,
        ),
        (
            accounts::handle(
                &stack.accounts_api,
                event("GET", &format!("/tiktok/accounts/{ALICE}"), ""),
            )
            .await,
            405,
        ),
        (
            accounts::handle(
                &stack.accounts_api,
                event("DELETE", "/tiktok/accounts/a/b", ""),
            )
            .await,
            400,
        ),
        (
            user_info::handle(&stack.api, event("GET", "/tiktok/me", "open_id=a%0D%0Ab")).await,
            400,
        ),
        (
            user_info::handle(&stack.api, event("GET", "/tiktok/me", &"x".repeat(9000))).await,
            400,
        ),
        (
            user_info::handle(
                &stack.api,
                event("GET", "/tiktok/me", &format!("open_id={}", "a".repeat(200))),
            )
            .await,
            400,
        ),
        (
            user_info::handle(
                &stack.api,
                event("GET", "/tiktok/me", "open_id=a&open_id=b"),
            )
            .await,
            400,
        ),
        (
            user_info::handle(
                &stack.api,
                integration_tests::api_event("GET", "/tiktok/me", "", &[]),
            )
            .await,
            401,
        ),
        (
            accounts::handle(
                &stack.accounts_api,
                integration_tests::api_event(
                    "GET",
                    "/tiktok/accounts",
                    "",
                    &[("authorization", "Bearer not-a-jwt")],
                ),
            )
            .await,
            401,
        ),
    ];
    for (response, expected) in cases {
        let response = response.expect("handlers answer every request");
        let (status, body) = answer(&response);
        assert_eq!(status, expected, "{body}");
        assert!(body["error"].is_string() && body["message"].is_string());
        if status == 405 {
            assert!(
                matches!(header(&response, "allow"), Some("GET" | "POST" | "DELETE")),
                "405 names the one allowed method: {:?}",
                header(&response, "allow")
            );
        }
    }
    assert!(stack.account(USER, ALICE).await.is_some());
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 0);
    stack.assert_nothing_leaked().await;
}

/// The version restarts at 1 after a disconnect, so writes prepared for the old grant (a refresh
/// in flight, a `give_up`, a job item listed before the disconnect) once matched the new grant's
/// record (ABA). Every conditional write now names the grant too: none of them lands.
#[tokio::test]
async fn writes_meant_for_a_disconnected_grant_never_land_on_the_reconnected_one() {
    use connect_domain::store::{RefreshQueue as _, RenewedTokens, TokenRotation as _, Written};
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    let old = stack.account(USER, ALICE).await.expect("connected");
    let (status, body) = answer(&stack.delete_account(USER, ALICE).await);
    assert_eq!(status, 204, "{body}");
    stack.connect_account(USER, ALICE, None).await;
    let new = stack.account(USER, ALICE).await.expect("reconnected");
    assert_eq!(
        new.token_version, old.token_version,
        "the counter alone cannot tell the grants apart"
    );
    assert_ne!(new.grant_id, old.grant_id);

    let stale = stack
        .accounts
        .set_status(&old, AccountStatus::ReauthRequired)
        .await
        .expect("set_status");
    assert_eq!(stale, Written::Stale, "give_up of the old grant");
    let renewed = RenewedTokens {
        sealed_tokens: old.sealed_tokens.clone(),
        access_token_expires_at: old.access_token_expires_at,
        refresh_token_expires_at: old.refresh_token_expires_at,
        scopes: None,
        refresh_due_at: old.refresh_due_at.unwrap_or_default(),
    };
    let stale = stack
        .accounts
        .store_refreshed(&old, &renewed)
        .await
        .expect("store_refreshed");
    assert_eq!(stale, Written::Stale, "a refresh of the old grant");
    let stale = stack
        .accounts
        .postpone_refresh(&old, 0)
        .await
        .expect("postpone_refresh");
    assert_eq!(stale, Written::Stale, "a job item of the old grant");

    let after = stack.account(USER, ALICE).await.expect("still there");
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.token_version, new.token_version);
    assert_eq!(after.sealed_tokens, new.sealed_tokens);
    let (status, body) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200, "{body}");
    stack.assert_nothing_leaked().await;
}
