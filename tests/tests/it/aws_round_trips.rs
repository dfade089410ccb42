//! AWS round trips per request, measured with an SDK interceptor against moto. The exact counts are
//! part of the contract with our users' latency and bill: a change that adds a call fails here.

use connect_domain::pkce::PkceMode;
use integration_tests::aws_calls::assert_permitted;
use integration_tests::flow::{ALICE, BOB, param};
use integration_tests::{ConsentChoice, Stack, StackOptions};
use std::collections::{BTreeMap, BTreeSet};

const USER: &str = "app-user-1";

fn calls(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn authorize_and_callback_round_trips() {
    for pkce in [PkceMode::Off, PkceMode::S256Hex] {
        let stack = Stack::start(StackOptions {
            pkce,
            ..StackOptions::default()
        })
        .await;
        stack
            .connect_confirmed("user-0", "", &ConsentChoice::approve(ALICE))
            .await; // a first owner exists
        stack.aws_calls.take();

        let url = stack.start_connect("user-1", "").await;
        let authorize = stack.aws_calls.take();
        let redirect = stack.consent(&url, &ConsentChoice::approve(ALICE)).await;
        let location = Stack::app_location(&stack.deliver_callback(&redirect).await);
        assert_eq!(param(&location, "tiktok").as_deref(), Some("pending"));
        let callback = stack.aws_calls.take();
        let confirmed = stack.confirmed("user-1", &location).await;
        assert_eq!(confirmed["took_over"], true);
        let confirm = stack.aws_calls.take();
        eprintln!(
            "AWS calls with PKCE {pkce:?}: authorize {authorize:?}; callback {callback:?}; confirm (takeover) {confirm:?}"
        );

        assert_permitted("authorize", &authorize);
        assert_permitted("callback", &callback);
        assert_permitted("accounts", &confirm);
        // The pending connection, the ownership record, then one transaction; no KMS call (the
        // tokens were sealed for this app user by the callback); account.connected on the bus.
        assert_eq!(
            confirm,
            calls(&[
                ("DynamoDB.GetItem", 2),
                ("DynamoDB.TransactWriteItems", 1),
                ("Events.PutEvents", 1)
            ]),
            "confirm"
        );
        // No KMS call, PKCE or not: the first connect gave each environment its data key
        // (authorize: the verifiers'; callback: the tokens', and it unwrapped authorize's), and
        // envelopes are sealed and opened locally (connect_domain::envelope).
        assert_eq!(
            authorize,
            calls(&[("DynamoDB.PutItem", 1), ("DynamoDB.UpdateItem", 1)]),
            "authorize, PKCE {pkce:?}"
        );
        assert_eq!(
            callback,
            calls(&[("DynamoDB.DeleteItem", 1), ("DynamoDB.PutItem", 1)]),
            "callback, PKCE {pkce:?}"
        );
        stack.assert_nothing_leaked().await;
    }
}

/// Each function's state lives as long as its execution environment, so the first request opens
/// the account's tokens with KMS and later ones (same tokens) are served from memory.
#[tokio::test]
async fn account_function_round_trips() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account("user-1", ALICE, None).await;
    stack.aws_calls.take();
    let by_id = format!("open_id={ALICE}");

    let mut measured = Vec::new();
    assert_eq!(stack.get_me("user-1", "").await.status(), 200);
    measured.push(("user-info, first (latest account)", stack.aws_calls.take()));
    assert_eq!(stack.get_me("user-1", &by_id).await.status(), 200);
    measured.push(("user-info ?open_id, warm", stack.aws_calls.take()));
    assert_eq!(stack.get_videos("user-1", &by_id).await.status(), 200);
    measured.push(("video-list ?open_id, warm", stack.aws_calls.take()));
    assert_eq!(stack.get_accounts("user-1").await.status(), 200);
    measured.push(("accounts list", stack.aws_calls.take()));
    stack.clock.advance(86_400);
    assert_eq!(stack.get_me("user-1", &by_id).await.status(), 200);
    measured.push(("user-info with refresh", stack.aws_calls.take()));
    assert_eq!(stack.get_me("user-1", &by_id).await.status(), 200);
    measured.push(("user-info after the refresh", stack.aws_calls.take()));
    stack.clock.advance(86_400);
    assert_eq!(stack.delete_account("user-1", ALICE).await.status(), 204);
    measured.push(("disconnect with refresh", stack.aws_calls.take()));
    for (what, calls) in &measured {
        eprintln!("AWS calls, {what}: {calls:?}");
        let function = what.split([',', ' ']).next().unwrap_or_default();
        let function = if function == "disconnect" {
            "accounts"
        } else {
            function
        };
        assert_permitted(function, calls);
    }

    let warm = calls(&[("DynamoDB.GetItem", 1)]);
    let refresh = [
        ("DynamoDB.GetItem", 1),
        ("DynamoDB.UpdateItem", 2), // take the lease; store the rotated pair
        ("KMS.GenerateDataKey", 1), // sealing the rotated pair: this environment's first seal
    ];
    let mut disconnect = refresh.to_vec();
    disconnect.extend([
        ("DynamoDB.TransactWriteItems", 1),
        // The accounts function's own decryption cache is cold (user-info's warmed another).
        ("KMS.Decrypt", 1),
        // Its scheduled posts to cancel (none), and account.disconnected on the bus.
        ("DynamoDB.Query", 1),
        ("Events.PutEvents", 1),
    ]);
    let expected = [
        calls(&[("DynamoDB.Query", 1), ("KMS.Decrypt", 1)]),
        warm.clone(),
        warm.clone(),
        calls(&[("DynamoDB.Query", 1)]),
        calls(&refresh),
        warm,
        calls(&disconnect),
    ];
    for ((what, measured), expected) in measured.iter().zip(expected) {
        assert_eq!(measured, &expected, "{what}");
    }
    stack.assert_nothing_leaked().await;
}

/// The job's calls on a run that refreshes due accounts, one of which has lost its grant.
#[tokio::test]
async fn token_refresh_calls_only_what_it_may() {
    use connect_services::refresh_job::JobSettings;
    use std::time::Duration;
    let stack = Stack::start(StackOptions::default()).await;
    let open_ids = stack.seed_accounts("user-1", 3).await;
    stack.fake.revoke_grants(&open_ids[0]);
    stack.clock.advance(2 * 86_400);
    stack.fake.advance_clock(2 * 86_400);
    stack.aws_calls.take();
    let summary = stack
        .run_job(JobSettings::default(), Duration::from_secs(60))
        .await;
    let calls = stack.aws_calls.take();
    eprintln!("AWS calls, token-refresh run {summary:?}: {calls:?}");
    assert_eq!((summary.refreshed, summary.reauth_required), (2, 1));
    assert_permitted("token-refresh", &calls);
    stack.assert_nothing_leaked().await;
}

/// Posting and webhooks: every call on each function's list, and the counts per request.
#[tokio::test]
async fn publish_and_webhook_round_trips() {
    use integration_tests::api::answer;
    use integration_tests::posting::webhook_body;
    use integration_tests::stack::POSTING_SCOPES;
    use serde_json::json;

    let stack = Stack::start(StackOptions {
        scopes: POSTING_SCOPES,
        ..StackOptions::default()
    })
    .await;
    stack.connect_account("user-1", ALICE, None).await;
    stack.aws_calls.take();

    let (code, _) = answer(&stack.get_publish("user-1", "creator-info", "").await);
    assert_eq!(code, 200);
    let creator = stack.aws_calls.take();
    let direct = json!({
        "mode": "direct",
        "source": {"type": "url", "video_url": "https://media.example.com/a.mp4"},
        "post_info": {"privacy_level": "SELF_ONLY"}
    });
    let (code, started) = answer(&stack.post_publish("user-1", &direct, Some("key-1")).await);
    assert_eq!(code, 202, "{started}");
    let post = stack.aws_calls.take();
    let (code, _) = answer(&stack.post_publish("user-1", &direct, Some("key-1")).await);
    assert_eq!(code, 202);
    let replay = stack.aws_calls.take();
    let publish_id = started["publish_id"].as_str().expect("id");
    let (code, _) = answer(&stack.get_publish("user-1", publish_id, "").await);
    assert_eq!(code, 200);
    let status = stack.aws_calls.take();
    let event = webhook_body(
        "post.publish.complete",
        ALICE,
        &json!({"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}),
    );
    assert_eq!(answer(&stack.deliver_signed(&event).await).0, 200);
    let publish_event = stack.aws_calls.take();
    let removed = webhook_body("authorization.removed", ALICE, &json!({"reason": 1}));
    assert_eq!(answer(&stack.deliver_signed(&removed).await).0, 200);
    let removed_event = stack.aws_calls.take();
    eprintln!(
        "AWS calls: creator-info {creator:?}; post {post:?}; replay {replay:?}; status {status:?}; \
         webhook publish event {publish_event:?}; webhook authorization.removed {removed_event:?}"
    );
    for publish_calls in [&creator, &post, &replay, &status] {
        assert_permitted("publish", publish_calls);
    }
    assert_permitted("webhook", &publish_event);
    assert_permitted("webhook", &removed_event);
    // Creator info: the account, one per-minute counter, the token, and the posting history
    // with this minute's init counter in one read (while TikTok answers).
    assert_eq!(
        creator,
        calls(&[
            ("DynamoDB.BatchGetItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.UpdateItem", 1),
            ("KMS.Decrypt", 1)
        ])
    );
    // A keyed Direct Post: account, key claim, creator info's counter, init's counter, the
    // post's record, the stored answer (sealed). The token's plaintext is still in this warm
    // function's cache from the creator-info call, as the answer's is for the replay.
    assert_eq!(
        post,
        calls(&[
            ("DynamoDB.PutItem", 2),
            ("DynamoDB.Query", 1),
            ("DynamoDB.UpdateItem", 3),
            ("KMS.GenerateDataKey", 1), // this environment's first answer sealed
        ])
    );
    // The replay: account, the claim found taken and read back.
    assert_eq!(
        replay,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.Query", 1),
        ])
    );
    // Status: the post, the account, the counter, the new status.
    assert_eq!(
        status,
        calls(&[("DynamoDB.GetItem", 2), ("DynamoDB.UpdateItem", 2)])
    );
    // Webhooks: the claim of the body, the change (answering the record as it was, for the
    // app's event), the claim marked done, post.status_changed on the bus.
    assert_eq!(
        publish_event,
        calls(&[
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.UpdateItem", 2),
            ("Events.PutEvents", 1)
        ])
    );
    // A removed grant: also the account's scheduled posts to cancel (none) and account.revoked.
    assert_eq!(
        removed_event,
        calls(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.Query", 1),
            ("DynamoDB.UpdateItem", 2),
            ("Events.PutEvents", 1)
        ])
    );
    stack.assert_nothing_leaked().await;
}

/// The DynamoDB calls of one account role, by operation name, as docs/architecture.md's table
/// of roles lists them: the backticked names of its "DynamoDB actions" column, outside
/// parentheses (inside are the IAM actions a transaction's items need, not calls of their own).
fn documented_role_calls(role: &str) -> BTreeSet<String> {
    let doc = include_str!("../../../docs/architecture.md");
    let row = doc
        .lines()
        .find(|line| line.starts_with(&format!("| `{role}` |")))
        .unwrap_or_else(|| panic!("docs/architecture.md has no row for {role}"));
    let actions = row.split('|').nth(3).expect("a DynamoDB actions column");
    let mut outside = String::new();
    let mut depth = 0;
    for c in actions.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn dynamodb_calls(calls: &BTreeMap<String, u32>) -> BTreeSet<String> {
    calls
        .keys()
        .map(|operation| {
            operation
                .strip_prefix("DynamoDB.")
                .unwrap_or_else(|| panic!("an account role called {operation}"))
                .to_owned()
        })
        .collect()
}

/// Each account role's adapter makes exactly the DynamoDB calls the architecture doc says it
/// does, so a function's roles tell which of them its IAM role needs.
#[tokio::test]
async fn each_account_role_makes_the_dynamodb_calls_the_architecture_doc_lists() {
    use connect_domain::clock::Clock as _;
    use connect_domain::store::{
        Account, AccountReader as _, AccountStatus, Connections as _, RefreshLease,
        RefreshQueue as _, RenewedTokens, Revocations as _, RevokeReason, TokenRotation as _,
    };
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    let alice = ALICE.into();
    let store = &stack.accounts;
    stack.aws_calls.take();

    let account = store
        .get(USER, &alice)
        .await
        .expect("get")
        .expect("account");
    store.list(USER).await.expect("list");
    let reader = stack.aws_calls.take();

    // `get` reads the account item alone: the profile is in an item of its own.
    let renamed = Account {
        display_name: Some("Renamed".into()),
        ..account.clone()
    }
    .with_profile_digest();
    store
        .update_profile(&renamed)
        .await
        .expect("update_profile");
    store
        .save_connection(&account)
        .await
        .expect("save_connection");
    store.delete(USER, &BOB.into()).await.expect("delete");
    let connections = stack.aws_calls.take();

    let account = stack.account(USER, ALICE).await.expect("saved");
    stack.aws_calls.take();
    let now_ms = stack.clock.now_millis();
    let lease = RefreshLease {
        id: "0123456789abcdef0123456789abcdef".into(),
        until_ms: now_ms + 60_000,
    };
    let leased = store
        .take_refresh_lease(&account, &lease, now_ms)
        .await
        .expect("take_refresh_lease")
        .expect("leased");
    store
        .release_refresh_lease(&leased, &lease.id)
        .await
        .expect("release_refresh_lease");
    store
        .set_status(&account, AccountStatus::Active)
        .await
        .expect("set_status");
    let renewed = RenewedTokens {
        sealed_tokens: leased.sealed_tokens.clone(),
        access_token_expires_at: account.access_token_expires_at,
        refresh_token_expires_at: account.refresh_token_expires_at,
        scopes: None,
        refresh_due_at: account.refresh_due_at.unwrap_or_default(),
    };
    store
        .store_refreshed(&account, &renewed)
        .await
        .expect("store_refreshed");
    let rotation = stack.aws_calls.take();

    let account = stack.account(USER, ALICE).await.expect("refreshed");
    stack.aws_calls.take();
    let horizon = stack.clock.now() + 365 * 86_400;
    store
        .due_page(0, horizon, None, 10)
        .await
        .expect("due_page");
    store.count_due(0, horizon, None).await.expect("count_due");
    store
        .postpone_refresh(&account, stack.clock.now())
        .await
        .expect("postpone_refresh");
    let queue = stack.aws_calls.take();

    let owner = store
        .mark_revoked(&alice, stack.clock.now(), RevokeReason::UserDisconnected)
        .await
        .expect("mark_revoked");
    assert_eq!(owner.as_deref(), Some(USER), "the revocation landed");
    let revocations = stack.aws_calls.take();

    for (role, calls) in [
        ("AccountReader", reader),
        ("Connections", connections),
        ("TokenRotation", rotation),
        ("RefreshQueue", queue),
        ("Revocations", revocations),
    ] {
        eprintln!("{role}: {calls:?}");
        assert_eq!(
            dynamodb_calls(&calls),
            documented_role_calls(role),
            "{role}'s calls differ from docs/architecture.md's table of roles"
        );
    }
}
