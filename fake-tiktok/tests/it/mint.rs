//! `FakeTikTok::mint_grant` and `POST /_fake/grants`: grants without the browser flow.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_tiktok::{Endpoint, FakeConfig, Lifetimes, Rotation};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const ALL_USER: [&str; 4] = [
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
];

#[tokio::test]
async fn minted_grant_is_a_code_exchange_without_the_browser() {
    let env = env().await;
    let grant = env
        .fake
        .mint_grant(ALICE, &["user.info.basic", "video.list", "user.info.basic"]);
    assert_eq!(grant.open_id, ALICE);
    assert_eq!(grant.scope, "user.info.basic,video.list", "deduplicated");
    assert_eq!(grant.expires_in, 7_200);
    assert_eq!(grant.refresh_expires_in, 15_552_000);
    assert!(grant.access_token.starts_with("act.") && grant.access_token.contains('!'));
    assert!(grant.refresh_token.starts_with("rft.") && grant.refresh_token.contains('!'));
    let debug = format!("{grant:?}");
    assert!(!debug.contains(&grant.access_token) && !debug.contains(&grant.refresh_token));
    let secrets = env.fake.issued_secrets();
    assert!(secrets.contains(&grant.access_token) && secrets.contains(&grant.refresh_token));
    assert_eq!(env.fake.calls(Endpoint::Any), 0, "minting is no request");
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 1);

    let (status, body) = env
        .user_info(&grant.access_token, "open_id,display_name")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["display_name"], "Alice Dancer");
    let (status, body) = env.video_list(&grant.access_token, "id", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["videos"].as_array().map(Vec::len), Some(10));

    // Strict rotation, and the refresh window counts down instead of restarting.
    env.fake.advance_clock(100);
    let (status, fresh) = env.refresh(&grant.refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let left = fresh["refresh_expires_in"]
        .as_i64()
        .expect("refresh_expires_in");
    assert!((15_551_895..=15_551_900).contains(&left), "{left}");
    assert_eq!(s(&fresh, "scope"), "user.info.basic,video.list");
    let (status, again) = env.refresh(&grant.refresh_token).await;
    assert_eq!(
        (status, s(&again, "error")),
        (StatusCode::OK, "invalid_grant")
    );
    assert_eq!(env.fake.live_refresh_tokens(ALICE), 1);

    // The consent is remembered: this browser's next authorization is silent.
    let resp = env
        .authorize(
            &Auth::new("user.info.basic,video.list"),
            Some("tt_fake_session=open-alice-0001"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FOUND);

    // Current lifetimes and rotation apply.
    env.fake.set_lifetimes(Lifetimes::CLASSIC);
    env.fake.set_rotation(Rotation::Classic);
    let grant = env.fake.mint_grant(BOB, &["user.info.basic"]);
    assert_eq!(
        (grant.expires_in, grant.refresh_expires_in),
        (86_400, 31_536_000)
    );
    for _ in 0..2 {
        let (_, body) = env.refresh(&grant.refresh_token).await;
        assert!(body.get("access_token").is_some(), "classic: {body}");
    }
}

#[tokio::test]
async fn mint_grant_creates_unknown_accounts() {
    let env = env().await;
    let grant = env.fake.mint_grant("bench-00001", &ALL_USER);
    assert_eq!(grant.open_id, "bench-00001");
    let fields = "open_id,union_id,display_name,username,avatar_url,follower_count,video_count";
    let (status, body) = env.user_info(&grant.access_token, fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user = &body["data"]["user"];
    assert_eq!(user["open_id"], "bench-00001");
    assert!(s(user, "display_name").contains(' '), "{user}");
    let username = s(user, "username").to_owned();
    assert!(
        username.len() == 17
            && username.starts_with("user")
            && username[4..].bytes().all(|b| b.is_ascii_digit()),
        "{username}"
    );
    assert!(s(user, "union_id").starts_with("union-"));
    assert!(s(user, "avatar_url").contains("bench-00001"));
    assert_eq!(user["video_count"], 0);
    let (status, body) = env.video_list(&grant.access_token, "id", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["videos"], json!([]));
    assert_eq!(body["data"]["has_more"], false);

    // The same id again: the same account, a second grant.
    let second = env.fake.mint_grant("bench-00001", &["user.info.profile"]);
    let (_, body) = env.user_info(&second.access_token, "username").await;
    assert_eq!(s(&body["data"]["user"], "username"), username);
    assert_eq!(env.fake.live_refresh_tokens("bench-00001"), 2);
    let other = env.fake.mint_grant("bench-00002", &["user.info.profile"]);
    let (_, body) = env.user_info(&other.access_token, "username").await;
    assert_ne!(s(&body["data"]["user"], "username"), username);

    // A real account now: the consent form and the per-user controls know it.
    let code = env
        .code_for(&Auth::new("user.info.basic"), "bench-00001")
        .await;
    let (_, tokens) = env.exchange(&code, None).await;
    assert_eq!(s(&tokens, "open_id"), "bench-00001");
    let (status, _) = env
        .post_control("/_fake/users/bench-00001/revoke", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    for token in [&grant.access_token, &second.access_token] {
        assert_eq!(
            env.user_info(token, "open_id").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(env.fake.live_refresh_tokens("bench-00001"), 0);
    assert_eq!(env.fake.live_refresh_tokens("bench-00002"), 1);
}

#[tokio::test]
async fn mint_grant_refuses_what_consent_refuses() {
    let env = env().await;
    let refused = |open_id: &'static str, scopes: &'static [&'static str]| {
        let fake = env.fake.clone();
        catch_unwind(AssertUnwindSafe(move || fake.mint_grant(open_id, scopes))).is_err()
    };
    assert!(refused(ALICE, &["user.info.basic", "user.info.everything"]));
    assert!(refused(ALICE, &[]));
    assert!(refused("", &["user.info.basic"]));
    // A refusal leaves the fake usable (no poisoned lock) and creates no account.
    assert_eq!(
        env.fake.mint_grant(ALICE, &["user.info.basic"]).open_id,
        ALICE
    );

    for (body, error) in [
        (
            json!({"open_id": ALICE, "scopes": ["nope"]}),
            "invalid_scope",
        ),
        (json!({"open_id": ALICE, "scopes": []}), "invalid_scope"),
        (
            json!({"open_id": "", "scopes": ["user.info.basic"]}),
            "invalid_open_id",
        ),
    ] {
        let (status, answer) = env.post_control("/_fake/grants", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(answer["error"], error);
    }
    let (status, _) = env
        .post_control("/_fake/grants", json!({"open_id": ALICE}))
        .await;
    assert!(status.is_client_error());

    let sandbox = env_with(FakeConfig {
        sandbox_targets: Some(vec![BOB.to_owned()]),
        ..FakeConfig::default()
    })
    .await;
    for open_id in [ALICE, "bench-outsider"] {
        let (status, answer) = sandbox
            .post_control(
                "/_fake/grants",
                json!({"open_id": open_id, "scopes": ["user.info.basic"]}),
            )
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("non_sandbox_target"))
        );
    }
    let (status, _) = sandbox
        .post_control("/_fake/users/bench-outsider/revoke", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no account was created");
    assert_eq!(
        sandbox.fake.mint_grant(BOB, &["user.info.basic"]).open_id,
        BOB
    );
    assert_eq!(env.fake.calls(Endpoint::Any), 0);
}

#[tokio::test]
async fn grants_over_http() {
    let env = env().await;
    let (status, grant) = env
        .post_control(
            "/_fake/grants",
            json!({"open_id": "http-user-1", "scopes": ["user.info.basic", "video.list"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    let keys: HashSet<&str> = grant
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "access_token",
            "refresh_token",
            "expires_in",
            "refresh_expires_in",
            "scope",
            "open_id"
        ])
    );
    assert_eq!(grant["open_id"], "http-user-1");
    assert_eq!(grant["scope"], "user.info.basic,video.list");
    assert_eq!(grant["expires_in"], 7_200);
    assert_eq!(grant["refresh_expires_in"], 15_552_000);
    let (status, body) = env.user_info(s(&grant, "access_token"), "open_id").await;
    assert_eq!(
        (status, &body["data"]["user"]["open_id"]),
        (StatusCode::OK, &json!("http-user-1"))
    );
    let (status, body) = env.refresh(s(&grant, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s(&body, "open_id"), "http-user-1");
    assert!(
        env.fake
            .issued_secrets()
            .iter()
            .any(|x| x == s(&grant, "access_token"))
    );
    assert_eq!(env.fake.calls(Endpoint::Token), 1, "only the refresh");
    assert_eq!(env.fake.calls(Endpoint::Any), 2);
}

/// Sends every job to the fake through `workers` concurrent connections; returns the answers in
/// job order.
async fn run_concurrently<F, Fut>(workers: usize, jobs: usize, job: F) -> Vec<Value>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Value> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (next, job) = (Arc::clone(&next), job.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break done;
                }
                done.push((i, job(i).await));
            }
        });
    }
    let mut answers = vec![Value::Null; jobs];
    while let Some(done) = tasks.join_next().await {
        for (i, answer) in done.expect("worker") {
            answers[i] = answer;
        }
    }
    answers
}

/// The token-refresh benchmark's shape: 10,000 accounts, each refreshed once, concurrently.
/// Nothing may scan all users, grants or tokens per call (that would be quadratic here).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_accounts_mint_and_refresh_without_quadratic_costs() {
    const N: usize = 10_000;
    let env = env().await;
    let ids: Vec<String> = (0..N).map(|i| format!("bulk-{i:05}")).collect();

    let started = Instant::now();
    let grants: Vec<_> = ids
        .iter()
        .map(|id| env.fake.mint_grant(id, &["user.info.basic"]))
        .collect();
    let mint = started.elapsed();
    let started = Instant::now();
    assert!(ids.iter().all(|id| env.fake.live_refresh_tokens(id) == 1));
    let count = started.elapsed();

    let started = Instant::now();
    let (http, base) = (env.http.clone(), env.fake.base_url());
    let refresh_tokens: Arc<Vec<String>> =
        Arc::new(grants.iter().map(|g| g.refresh_token.clone()).collect());
    let answers = run_concurrently(64, N, move |i| {
        let (http, base, tokens) = (http.clone(), base.clone(), Arc::clone(&refresh_tokens));
        async move {
            http.post(format!("{base}/v2/oauth/token/"))
                .form(&[
                    ("client_key", "fake_client_key"),
                    ("client_secret", "fake_client_secret"),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", tokens[i].as_str()),
                ])
                .send()
                .await
                .expect("refresh")
                .json::<Value>()
                .await
                .expect("json")
        }
    })
    .await;
    let refresh = started.elapsed();
    let mut fresh = HashSet::new();
    for (answer, id) in answers.iter().zip(&ids) {
        assert_eq!(s(answer, "open_id"), id, "{answer}");
        assert!(fresh.insert(s(answer, "refresh_token").to_owned()));
    }

    let started = Instant::now();
    for id in &ids {
        assert_eq!(
            env.fake.live_refresh_tokens(id),
            1,
            "{id}: old one rotated away"
        );
        env.fake.expire_access_tokens(id);
    }
    let per_user = started.elapsed();
    let (status, body) = env
        .user_info(s(&answers[N - 1], "access_token"), "open_id")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        env.fake.calls(Endpoint::Token),
        u32::try_from(N).expect("u32")
    );

    // Generous bounds for debug builds on a busy machine; a quadratic scan takes far longer.
    let limit = Duration::from_secs(10);
    for (what, took) in [
        ("mint", mint),
        ("count", count),
        ("refresh", refresh),
        ("per-user", per_user),
    ] {
        assert!(took < limit, "{what} of {N} accounts took {took:?}");
    }
}
