//! The scheduled `token-refresh` job against moto (with its due index) and the fake TikTok.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use connect_domain::store::AccountStatus;
use connect_services::refresh_job::{JobSettings, Summary};
use fake_tiktok::{Endpoint, Failure, Lifetimes};
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, BOB};
use integration_tests::{Stack, StackOptions};

const USER: &str = "app-user-1";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// The job's settings with TikTok's start-rate cap lifted (it would only make tests slow).
fn quick() -> JobSettings {
    JobSettings {
        rate_per_minute: 60_000,
        ..JobSettings::default()
    }
}

/// A run with plenty of time.
async fn run(stack: &Stack) -> Summary {
    stack.run_job(quick(), Duration::from_secs(120)).await
}

/// The stored refresh token of every account is the one TikTok issued last for it, and it is the
/// only live one: no rotation was lost.
async fn assert_rotation_kept(stack: &Stack, open_ids: &[String]) {
    let issued = stack.fake.issued_secrets();
    for open_id in open_ids {
        let account = stack.account(USER, open_id).await.expect("account");
        let tokens = stack.tokens_of(&account).await;
        assert_eq!(
            stack.fake.live_refresh_tokens(open_id),
            1,
            "{open_id}: exactly one live refresh token"
        );
        assert!(issued.contains(&tokens.refresh_token.secret().to_owned()));
        assert_eq!(account.status, AccountStatus::Active, "{open_id}");
    }
}

/// Time passes for us and for TikTok alike.
fn pass(stack: &Stack, secs: i64) {
    stack.clock.advance(secs);
    stack.fake.advance_clock(secs);
}

fn token_calls(stack: &Stack) -> u32 {
    stack.fake.calls(Endpoint::Token)
}

/// The keep-alive period: a week by default (the deployed `RefreshKeepaliveHours`), a day when
/// asked (what the other tests of the job run with), under both sets of token lifetimes.
#[tokio::test]
async fn keepalive_refreshes_once_a_period_under_both_lifetime_sets() {
    for (keepalive_hours, period) in [(168, 7 * DAY), (24, DAY)] {
        for lifetimes in [Lifetimes::CLASSIC, Lifetimes::Y2026] {
            let stack = Stack::start(StackOptions {
                keepalive_hours,
                ..StackOptions::default()
            })
            .await;
            stack.fake.set_lifetimes(lifetimes);
            let early = stack.seed_accounts(USER, 3).await;
            pass(&stack, 6 * HOUR);
            let later = stack.seed_accounts("app-user-2", 2).await;

            let first = run(&stack).await;
            assert_eq!(
                (first.due, first.refreshed),
                (0, 0),
                "nothing due yet: {first:?}"
            );

            // 10 minutes before a period has passed since the first three were stored, nothing
            // is due either (the next run is in 15 minutes: it would be too late for them).
            pass(&stack, period - 6 * HOUR - 25 * 60);
            assert_eq!(run(&stack).await.due, 0, "{keepalive_hours} h: due early");

            // A period after the first three were stored, only they are due.
            pass(&stack, 15 * 60);
            let second = run(&stack).await;
            assert_eq!(
                second.due, 3,
                "{keepalive_hours} h, {lifetimes:?}: {second:?}"
            );
            assert_eq!(second.refreshed, 3);
            assert!(second.complete && second.remaining == 0);
            assert_eq!(token_calls(&stack), 3);
            assert_rotation_kept(&stack, &early).await;

            // Refreshed accounts are not due again for a period; the later ones are now.
            pass(&stack, 6 * HOUR);
            let third = run(&stack).await;
            assert_eq!((third.due, third.refreshed), (2, 2), "{third:?}");
            assert_eq!(token_calls(&stack), 5);
            for open_id in &later {
                let account = stack.account("app-user-2", open_id).await.expect("account");
                assert!(account.refresh_due_at.expect("scheduled") > period);
            }
            stack.assert_nothing_leaked().await;
        }
    }
}

#[tokio::test]
async fn eager_refreshes_ahead_of_every_expiry_of_two_hour_tokens() {
    let stack = Stack::start(StackOptions {
        refresh_policy: "eager",
        ..StackOptions::default()
    })
    .await;
    stack.fake.set_lifetimes(Lifetimes::Y2026);
    let open_ids = stack.seed_accounts(USER, 4).await;

    pass(&stack, HOUR + 25 * 60); // expiry in 35 min: due after the next run
    assert_eq!(run(&stack).await.due, 0);
    pass(&stack, 20 * 60); // expiry in 15 min: the last run before it
    let summary = run(&stack).await;
    assert_eq!((summary.due, summary.refreshed), (4, 4), "{summary:?}");
    for open_id in &open_ids {
        let account = stack.account(USER, open_id).await.expect("account");
        assert!(account.access_token_expires_at > stack_now(&stack) + HOUR);
    }
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}

fn stack_now(stack: &Stack) -> i64 {
    use connect_domain::clock::Clock as _;
    stack.clock.now()
}

#[tokio::test]
async fn invalid_grant_marks_reauth_required_and_leaves_the_index() {
    let stack = Stack::start(StackOptions::default()).await;
    let open_ids = stack.seed_accounts(USER, 4).await;
    stack.fake.revoke_grants(&open_ids[1]);
    pass(&stack, DAY);
    let summary = run(&stack).await;
    assert_eq!(summary.due, 4);
    assert_eq!(
        (summary.refreshed, summary.reauth_required),
        (3, 1),
        "{summary:?}"
    );
    let dead = stack.account(USER, &open_ids[1]).await.expect("kept");
    assert_eq!(dead.status, AccountStatus::ReauthRequired);
    assert_eq!(
        dead.refresh_due_at, None,
        "no more attempts until a reconnect"
    );

    pass(&stack, DAY);
    let next = run(&stack).await;
    assert_eq!((next.due, next.reauth_required), (3, 0), "{next:?}");
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn tiktok_5xx_on_some_accounts_does_not_stop_the_batch() {
    let stack = Stack::start(StackOptions::default()).await;
    let open_ids = stack.seed_accounts(USER, 6).await;
    pass(&stack, DAY);
    // One account's three tries all fail; every other refresh succeeds.
    stack.fake.fail_next(Endpoint::Token, Failure::Status500, 3);
    let settings = JobSettings {
        concurrency: 1,
        ..quick()
    };
    let summary = stack.run_job(settings, Duration::from_secs(120)).await;
    assert_eq!(summary.due, 6);
    assert_eq!(
        (
            summary.refreshed,
            summary.transient_failures,
            summary.reauth_required
        ),
        (5, 1, 0),
        "{summary:?}"
    );
    let mut failed = Vec::new();
    for open_id in &open_ids {
        let account = stack.account(USER, open_id).await.expect("account");
        assert_eq!(account.status, AccountStatus::Active);
        if account.refresh_failures > 0 {
            failed.push(account);
        }
    }
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].refresh_due_at.expect("still scheduled") > stack_now(&stack),
        "backed off"
    );
    // After the backoff, a later run refreshes it.
    pass(&stack, HOUR);
    let later = run(&stack).await;
    assert_eq!((later.due, later.refreshed), (1, 1), "{later:?}");
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_racing_on_demand_requests_loses_nothing() {
    let stack = Arc::new(
        Stack::start(StackOptions {
            refresh_policy: "eager",
            ..StackOptions::default()
        })
        .await,
    );
    stack.fake.set_lifetimes(Lifetimes::Y2026);
    let open_ids = stack.seed_accounts(USER, 10).await;
    // Every access token expired: the job and the requests all want to refresh.
    pass(&stack, 2 * HOUR);
    let before = token_calls(&stack);

    let mut requests = tokio::task::JoinSet::new();
    for open_id in open_ids.clone() {
        let stack = Arc::clone(&stack);
        requests
            .spawn(async move { answer(&stack.get_me(USER, &format!("open_id={open_id}")).await) });
    }
    let job = {
        let stack = Arc::clone(&stack);
        tokio::spawn(async move { stack.run_job(quick(), Duration::from_secs(120)).await })
    };
    for (status, body) in requests.join_all().await {
        assert_eq!(status, 200, "{body}");
    }
    let summary = job.await.expect("job");
    assert_eq!(summary.reauth_required, 0, "{summary:?}");
    assert_eq!(summary.transient_failures, 0, "{summary:?}");
    assert_eq!(
        token_calls(&stack) - before,
        10,
        "each account refreshed exactly once: {summary:?}"
    );
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runs_started_together_refresh_each_account_once() {
    let stack = Arc::new(Stack::start(StackOptions::default()).await);
    let open_ids = stack.seed_accounts(USER, 20).await;
    pass(&stack, DAY);
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let stack = Arc::clone(&stack);
            tokio::spawn(async move { run(&stack).await })
        })
        .collect();
    let mut refreshed = 0;
    for handle in runs {
        let summary = handle.await.expect("run");
        assert_eq!(
            summary.transient_failures + summary.reauth_required,
            0,
            "{summary:?}"
        );
        refreshed += summary.refreshed;
    }
    assert_eq!(refreshed, 20);
    assert_eq!(token_calls(&stack), 20);
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_run_out_of_time_leaves_the_rest_to_the_next_run() {
    let stack = Stack::start(StackOptions::default()).await;
    let open_ids = stack.seed_accounts(USER, 20).await;
    pass(&stack, DAY);
    stack.fake.set_latency(Duration::from_millis(700));
    // Refreshes for 9 s (at most 13 of the 20, one at a time), then three seconds to count the
    // rest: counting 16 shards must fit even on a machine busy with other builds and with the
    // other tests of this binary on the same moto server (with 0.5 s, then 1 s, it did not always).
    // The job caps its stop margin at a quarter of the run, hence the 12 s run.
    let tight = JobSettings {
        concurrency: 1,
        stop_margin: Duration::from_secs(3),
        per_refresh: Duration::from_secs(5),
        // Counting may use the run's last moments: this test checks the counts, not the margin.
        count_margin: Duration::ZERO,
        ..quick()
    };
    let first = stack.run_job(tight, Duration::from_secs(12)).await;
    assert!(
        first.refreshed > 0 && first.refreshed < 20,
        "stopped mid-batch: {first:?}"
    );
    assert_eq!(first.due, 20, "counted, not read: {first:?}");
    assert_eq!(first.remaining, 20 - first.refreshed, "{first:?}");
    assert!(!first.complete);

    let second = run(&stack).await;
    assert_eq!(second.refreshed, first.remaining, "{second:?}");
    assert!(second.complete);
    assert_eq!(token_calls(&stack), 20, "no account refreshed twice");
    let distinct: HashSet<_> = open_ids.iter().collect();
    assert_eq!(distinct.len(), 20);
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn refresh_tokens_near_their_end_are_reported() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.fake.set_lifetimes(Lifetimes {
        access_secs: 2 * HOUR,
        refresh_secs: 10 * DAY,
    });
    let open_ids = stack.seed_accounts(USER, 2).await;
    pass(&stack, DAY);
    let fresh = run(&stack).await;
    assert_eq!(fresh.reconnect_soon, 0, "9 days left: {fresh:?}");
    pass(&stack, 4 * DAY);
    let soon = run(&stack).await;
    assert_eq!(soon.reconnect_soon, 2, "{soon:?}");
    let listed: HashSet<&str> = soon
        .reconnect_soon_accounts
        .iter()
        .map(|a| a.open_id.as_str())
        .collect();
    assert_eq!(listed, open_ids.iter().map(String::as_str).collect());
    // The app hears it once per account, not once per run.
    pass(&stack, DAY);
    let again = run(&stack).await;
    assert_eq!(again.reconnect_soon, 2, "{again:?}");
    let events = stack.events_on_bus().await;
    let announced: Vec<&str> = events
        .iter()
        .filter(|e| e["detail-type"] == "account.reconnect_soon")
        .filter_map(|e| e["detail"]["open_id"].as_str())
        .collect();
    assert_eq!(announced.len(), 2, "{events:?}");
    assert_eq!(
        announced.iter().copied().collect::<HashSet<_>>(),
        open_ids.iter().map(String::as_str).collect()
    );
    assert!(
        events
            .iter()
            .filter(|e| e["detail-type"] == "account.reconnect_soon")
            .all(|e| e["detail"]["refresh_token_expires_at"].is_i64())
    );

    // At its end the account is marked without asking TikTok.
    pass(&stack, 5 * DAY);
    let calls = token_calls(&stack);
    let ended = run(&stack).await;
    assert_eq!(ended.reauth_required, 2, "{ended:?}");
    assert_eq!(token_calls(&stack), calls);
    stack.assert_nothing_leaked().await;
}

/// TikTok's rate limit stops a run at its first 429. Runs used to walk the shards 0→15 every
/// time, so while TikTok throttled, the last shards were never reached; now each run starts one
/// shard further on (`shard_order`), and what a run does not reach comes first in a later one.
#[tokio::test]
async fn runs_stopped_by_tiktoks_rate_limit_start_one_shard_further_each_time() {
    use connect_domain::clock::Clock as _;
    use connect_domain::schedule::{due_shard, shard_key};
    use connect_services::refresh_job::shard_order;
    const INTERVAL: i64 = 15 * 60;
    let stack = Stack::start(StackOptions::default()).await;
    let open_ids = stack.seed_accounts(USER, 48).await;
    pass(&stack, DAY);
    // The middle of a 15-minute slot, so the run sees the slot this test computes with.
    let now = stack.clock.now();
    pass(&stack, INTERVAL / 2 - now.rem_euclid(INTERVAL));
    let one_at_a_time = JobSettings {
        concurrency: 1,
        ..quick()
    };
    let mut attempted: Vec<String> = Vec::new();
    let mut shards = Vec::new();
    for _ in 0..4 {
        let order = shard_order(stack.clock.now(), INTERVAL);
        let expected = order
            .iter()
            .map(|&shard| shard_key(shard))
            .find(|key| {
                open_ids
                    .iter()
                    .any(|id| !attempted.contains(id) && due_shard(USER, id) == *key)
            })
            .expect("a shard with due accounts");
        stack.fake.fail_next(Endpoint::Token, Failure::Status429, 1);
        let summary = stack.run_job(one_at_a_time, Duration::from_secs(120)).await;
        assert_eq!(summary.transient_failures, 1, "{summary:?}");
        assert!(!summary.complete, "stopped by the 429: {summary:?}");
        let mut failed = Vec::new();
        for id in &open_ids {
            let account = stack.account(USER, id).await.expect("account");
            if account.refresh_failures > 0 && !attempted.contains(id) {
                failed.push(id.clone());
            }
        }
        assert_eq!(failed.len(), 1, "one attempt, then the run stopped");
        assert_eq!(
            due_shard(USER, &failed[0]),
            expected,
            "the run's first shard"
        );
        shards.push(expected);
        attempted.extend(failed);
        pass(&stack, INTERVAL);
    }
    // Empty shards are passed over, so two runs may meet in one; four runs in a row all in one
    // would need three empty shards in a row.
    let distinct: HashSet<_> = shards.iter().collect();
    assert!(distinct.len() > 1, "the runs began elsewhere: {shards:?}");
    stack.assert_nothing_leaked().await;
}

/// A grant nobody confirmed within its 10 minutes is revoked at TikTok by the next run and
/// forgotten; one still inside its 10 minutes is left for its app user to confirm.
#[tokio::test]
async fn the_job_revokes_grants_nobody_confirmed() {
    let stack = Stack::start(StackOptions::default()).await;
    let abandoned = stack
        .connect(USER, "", &integration_tests::ConsentChoice::approve(ALICE))
        .await;
    stack
        .clock
        .advance(connect_services::connect::PENDING_TTL_SECS - 60);
    let fresh = stack
        .connect(
            "app-user-2",
            "",
            &integration_tests::ConsentChoice::approve(BOB),
        )
        .await;
    stack.clock.advance(60);
    let pending_items = |dump: &[std::collections::HashMap<String, String>]| {
        dump.iter()
            .filter(|item| item["pk"].starts_with("CONNECTION#"))
            .count()
    };
    assert_eq!(pending_items(&stack.table_dump().await), 2);

    let summary = run(&stack).await;
    assert_eq!(summary.unconfirmed_connections.revoked, 1, "{summary:?}");
    assert_eq!(stack.fake.calls(Endpoint::Revoke), 1);
    assert_eq!(
        stack.fake.live_refresh_tokens(ALICE),
        0,
        "Alice's grant is dead"
    );
    assert_eq!(pending_items(&stack.table_dump().await), 1);
    let (status, body) = answer(&stack.confirm_connection(USER, &abandoned).await);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("connection_not_found"))
    );
    stack.confirmed("app-user-2", &fresh).await;

    let again = run(&stack).await;
    assert_eq!(
        again.unconfirmed_connections,
        Default::default(),
        "{again:?}"
    );
    stack.assert_nothing_leaked().await;
}

/// Adds (`true`) or deletes (`false`) the due index `due-by-shard` replaced, as the two deploys of
/// an upgrade do.
async fn legacy_due_index(stack: &Stack, exists: bool) {
    use aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
        GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    };
    use connect_adapters::keys::{DUE_AT_ATTR, DUE_SHARD_ATTR, LEGACY_DUE_INDEX};
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let update = if exists {
        GlobalSecondaryIndexUpdate::builder().create(
            CreateGlobalSecondaryIndexAction::builder()
                .index_name(LEGACY_DUE_INDEX)
                .key_schema(key(DUE_SHARD_ATTR, KeyType::Hash))
                .key_schema(key(DUE_AT_ATTR, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("create"),
        )
    } else {
        GlobalSecondaryIndexUpdate::builder().delete(
            DeleteGlobalSecondaryIndexAction::builder()
                .index_name(LEGACY_DUE_INDEX)
                .build()
                .expect("delete"),
        )
    };
    stack
        .aws
        .dynamodb
        .update_table()
        .table_name(&stack.config.table_name)
        .global_secondary_index_updates(update.build())
        .send()
        .await
        .expect("update the table's indexes");
}

/// A stack created with `refresh-due` (whole items projected) upgrades in two deploys
/// (docs/deploy.md#upgrading-a-stack): the first adds `due-by-shard` while the job still reads
/// `refresh-due`; the second deletes `refresh-due` and the job reads `due-by-shard`, whose entries
/// carry no tokens. Accounts connected before the upgrade are refreshed at each step, with no
/// rotation lost; a job still reading the deleted index fails its run and loses nothing.
#[tokio::test]
async fn a_stack_created_with_the_old_due_index_upgrades_in_two_deploys_and_keeps_refreshing() {
    use connect_adapters::keys::LEGACY_DUE_INDEX;
    let stack = Stack::start(StackOptions::default()).await;
    // The first deploy: the old index beside the new one (moto builds an index's entries when it
    // is read, so the order of creation does not matter here).
    legacy_due_index(&stack, true).await;
    let open_ids = stack.seed_accounts(USER, 3).await;
    pass(&stack, DAY + HOUR);
    let long = Duration::from_secs(120);
    let first = stack.run_job_reading(LEGACY_DUE_INDEX, quick(), long).await;
    assert_eq!((first.due, first.refreshed), (3, 3), "{first:?}");
    assert_rotation_kept(&stack, &open_ids).await;

    // The second deploy deletes the old index. The job of the first deploy, until its function is
    // updated, fails its run.
    legacy_due_index(&stack, false).await;
    pass(&stack, DAY + HOUR);
    let stale = stack.run_job_reading(LEGACY_DUE_INDEX, quick(), long).await;
    assert!(!stale.complete && stale.refreshed == 0, "{stale:?}");
    let second = run(&stack).await;
    assert_eq!((second.due, second.refreshed), (3, 3), "{second:?}");
    assert!(second.complete, "{second:?}");
    assert_rotation_kept(&stack, &open_ids).await;
    stack.assert_nothing_leaked().await;
}
