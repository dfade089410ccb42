//! The profile in an item of its own beside the account item (docs/operations.md#write-units-per-refresh):
//! a refresh rewrites only the account item, which then stays under 1 KB. Records from before it
//! carry the profile in the account item: they still read, and their next write of the profile
//! or of the tokens moves it out. A disconnect or a takeover leaves no profile behind.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::api::answer;
use integration_tests::flow::{ALICE, ConsentChoice};
use integration_tests::{Stack, StackOptions};

const USER: &str = "app-user-1";
const PROFILE_ATTRS: [&str; 4] = ["union_id", "display_name", "avatar_url", "username"];

type Item = HashMap<String, AttributeValue>;

fn user_pk() -> AttributeValue {
    AttributeValue::S(format!("USER#{USER}"))
}

fn account_sk() -> String {
    format!("TIKTOK#{ALICE}")
}

fn profile_sk() -> String {
    format!("PROFILE#{ALICE}")
}

async fn raw_item(stack: &Stack, app_user: &str, sk: &str) -> Option<Item> {
    stack.raw_item(&format!("USER#{app_user}"), sk).await
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Turns Alice's records into the layout before the move: the profile in the account item, no
/// fingerprint, no profile item.
async fn make_old_layout(stack: &Stack) {
    let dynamodb = &stack.aws.dynamodb;
    let table = &stack.config.table_name;
    let mut update = dynamodb
        .update_item()
        .table_name(table)
        .key("pk", user_pk())
        .key("sk", AttributeValue::S(account_sk()))
        .update_expression(
            "SET union_id = :u, display_name = :d, avatar_url = :a, username = :n \
             REMOVE profile_digest",
        );
    for (name, value) in [
        (":u", "old-union"),
        (":d", "Old Name"),
        (":a", "https://p16.tiktokcdn.com/old.jpeg"),
        (":n", "old.handle"),
    ] {
        update = update.expression_attribute_values(name, AttributeValue::S(value.into()));
    }
    update.send().await.expect("old layout");
    dynamodb
        .delete_item()
        .table_name(table)
        .key("pk", user_pk())
        .key("sk", AttributeValue::S(profile_sk()))
        .send()
        .await
        .expect("no profile item");
}

#[tokio::test]
async fn an_old_record_reads_its_profile_and_its_next_refresh_moves_it_out() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    make_old_layout(&stack).await;
    let listed = stack.listed_account(USER, ALICE).await.expect("listed");
    assert_eq!(listed.display_name.as_deref(), Some("Old Name"));
    let read = stack.account(USER, ALICE).await.expect("read");
    assert_eq!(read.username.as_deref(), Some("old.handle"));
    // A profile item written since (here, by hand: only a newer name) keeps what it has.
    stack
        .aws
        .dynamodb
        .put_item()
        .table_name(&stack.config.table_name)
        .item("pk", user_pk())
        .item("sk", AttributeValue::S(profile_sk()))
        .item("display_name", AttributeValue::S("Newer Name".into()))
        .send()
        .await
        .expect("a newer profile item");
    let before = raw_item(&stack, USER, &account_sk()).await.expect("item");

    // An on-demand refresh: the access token expired.
    stack.fake.expire_access_tokens(ALICE);
    stack.clock.advance(86_400 + 60);
    let (status, body) = answer(&stack.get_videos(USER, "").await);
    assert_eq!(status, 200, "{body}");

    let account_item = raw_item(&stack, USER, &account_sk()).await.expect("item");
    assert_ne!(
        account_item["sealed_tokens"], before["sealed_tokens"],
        "refreshed"
    );
    for name in PROFILE_ATTRS {
        assert!(
            !account_item.contains_key(name),
            "{name} left the account item"
        );
    }
    let profile = raw_item(&stack, USER, &profile_sk())
        .await
        .expect("profile");
    assert_eq!(attr(&profile, "display_name"), Some("Newer Name"));
    assert_eq!(attr(&profile, "username"), Some("old.handle"));
    assert_eq!(attr(&profile, "union_id"), Some("old-union"));
    let listed = stack.listed_account(USER, ALICE).await.expect("listed");
    assert_eq!(listed.display_name.as_deref(), Some("Newer Name"));
    assert_eq!(
        listed.avatar_url.as_deref(),
        Some("https://p16.tiktokcdn.com/old.jpeg")
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn an_old_record_moves_its_profile_at_the_next_profile_read_which_then_writes_no_more() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    make_old_layout(&stack).await;

    let (status, me) = answer(&stack.get_me(USER, "").await);
    assert_eq!(status, 200, "{me}");
    let account_item = raw_item(&stack, USER, &account_sk()).await.expect("item");
    for name in PROFILE_ATTRS {
        assert!(
            !account_item.contains_key(name),
            "{name} left the account item"
        );
    }
    assert!(account_item.contains_key("profile_digest"));
    let profile = raw_item(&stack, USER, &profile_sk())
        .await
        .expect("profile");
    assert_eq!(attr(&profile, "display_name"), me["display_name"].as_str());
    assert_eq!(attr(&profile, "avatar_url"), me["avatar_url"].as_str());

    // Unchanged at TikTok: the next read makes one DynamoDB call, the account item's GetItem,
    // which does not return the profile: the fingerprint tells that nothing changed.
    stack.aws_calls.take();
    let (status, _) = answer(&stack.get_me(USER, &format!("open_id={ALICE}")).await);
    assert_eq!(status, 200);
    let calls = stack.aws_calls.take();
    assert_eq!(
        calls
            .iter()
            .filter(|(op, _)| op.starts_with("DynamoDB."))
            .collect::<Vec<_>>(),
        vec![(&"DynamoDB.GetItem".to_owned(), &1)],
        "{calls:?}"
    );
    stack.assert_nothing_leaked().await;
}

#[tokio::test]
async fn a_disconnect_and_a_takeover_leave_no_profile_behind() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account(USER, ALICE, None).await;
    assert!(raw_item(&stack, USER, &profile_sk()).await.is_some());
    stack
        .connect_confirmed("app-user-2", "", &ConsentChoice::approve(ALICE))
        .await;
    assert!(raw_item(&stack, USER, &account_sk()).await.is_none());
    assert!(
        raw_item(&stack, USER, &profile_sk()).await.is_none(),
        "the previous owner's profile goes with the takeover"
    );
    let profile = raw_item(&stack, "app-user-2", &profile_sk()).await;
    assert!(profile.is_some_and(|p| p.contains_key("display_name")));

    let (status, body) = answer(&stack.delete_account("app-user-2", ALICE).await);
    assert_eq!(status, 204, "{body}");
    assert!(
        raw_item(&stack, "app-user-2", &account_sk())
            .await
            .is_none()
    );
    assert!(
        raw_item(&stack, "app-user-2", &profile_sk())
            .await
            .is_none(),
        "a disconnect deletes the profile too"
    );
    stack.assert_nothing_leaked().await;
}
