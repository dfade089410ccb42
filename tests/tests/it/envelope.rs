//! Envelopes (connect_domain::envelope) against moto's KMS through the real SDK: records sealed
//! the old way (one KMS `Encrypt` each) keep working and are sealed again as envelopes by their
//! next write; the job opens and seals a run's worth of accounts with a handful of KMS calls.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use connect_domain::cipher::EncryptionContext;
use connect_domain::envelope::MAGIC;
use connect_services::refresh_job::JobSettings;
use integration_tests::flow::ALICE;
use integration_tests::{Stack, StackOptions};

/// Alice's account item of `app_user` as stored, and its key.
async fn alice_item(
    stack: &Stack,
    app_user: &str,
) -> (
    HashMap<String, AttributeValue>,
    HashMap<String, AttributeValue>,
) {
    let (pk, sk) = (format!("USER#{app_user}"), format!("TIKTOK#{ALICE}"));
    let item = stack
        .raw_item(&pk, &sk)
        .await
        .expect("Alice's account item");
    let key = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ]);
    (key, item)
}

/// Alice's account item's key and `sealed_tokens`.
async fn sealed_tokens_of(
    stack: &Stack,
    app_user: &str,
) -> (HashMap<String, AttributeValue>, Vec<u8>) {
    let (key, item) = alice_item(stack, app_user).await;
    let sealed = item["sealed_tokens"]
        .as_b()
        .expect("binary")
        .as_ref()
        .to_vec();
    (key, sealed)
}

#[tokio::test]
async fn tokens_sealed_before_envelopes_still_open_and_the_next_write_seals_an_envelope() {
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account("user-1", ALICE, None).await;
    let (key, sealed) = sealed_tokens_of(&stack, "user-1").await;
    assert!(
        sealed.starts_with(&MAGIC),
        "a new connection is sealed as an envelope"
    );

    // The same tokens as the previous version stored them: KMS Encrypt under the record's context.
    let account = stack.account("user-1", ALICE).await.expect("account");
    let tokens = stack.tokens_of(&account).await;
    let plaintext = format!(
        r#"{{"access_token":"{}","refresh_token":"{}"}}"#,
        tokens.access_token.secret(),
        tokens.refresh_token.secret()
    );
    let legacy = stack
        .aws
        .kms
        .encrypt()
        .key_id(&stack.config.kms_key_id)
        .plaintext(Blob::new(plaintext.into_bytes()))
        .set_encryption_context(Some(EncryptionContext::tokens("user-1", ALICE).to_map()))
        .send()
        .await
        .expect("KMS encrypt")
        .ciphertext_blob
        .expect("ciphertext")
        .into_inner();
    assert!(!legacy.starts_with(&MAGIC));
    stack
        .aws
        .dynamodb
        .update_item()
        .table_name(&stack.config.table_name)
        .set_key(Some(key))
        .update_expression("SET sealed_tokens = :sealed")
        .expression_attribute_values(":sealed", AttributeValue::B(legacy.clone().into()))
        .send()
        .await
        .expect("store the old format");

    // Read: opened by KMS Decrypt, as before; nothing is written.
    stack.aws_calls.take();
    assert_eq!(stack.get_me("user-1", "").await.status(), 200);
    let calls = stack.aws_calls.take();
    assert_eq!(calls.get("KMS.Decrypt"), Some(&1), "{calls:?}");
    assert_eq!(sealed_tokens_of(&stack, "user-1").await.1, legacy);

    // The next refresh writes the rotated pair as an envelope, which opens.
    stack.clock.advance(86_400);
    assert_eq!(stack.get_me("user-1", "").await.status(), 200);
    let (_, resealed) = sealed_tokens_of(&stack, "user-1").await;
    assert!(
        resealed.starts_with(&MAGIC),
        "the refresh sealed an envelope"
    );
    let account = stack.account("user-1", ALICE).await.expect("account");
    assert_ne!(
        stack.tokens_of(&account).await.refresh_token.secret(),
        tokens.refresh_token.secret(),
        "TikTok rotated the pair"
    );
    stack.assert_nothing_leaked().await;
}

/// The cost the custody model counts (docs/operations.md#custody-at-scale): KMS requests per
/// refresh in the job, when the accounts were sealed together (as the job's previous run seals
/// them).
#[tokio::test]
async fn the_job_makes_two_kms_calls_for_250_refreshes() {
    const ACCOUNTS: usize = 250;
    let stack = Stack::start(StackOptions::default()).await;
    stack.seed_accounts("user-1", ACCOUNTS).await;
    stack.clock.advance(2 * 86_400);
    stack.fake.advance_clock(2 * 86_400);
    stack.aws_calls.take();
    let settings = JobSettings {
        rate_per_minute: 1_000_000, // the default 600/min would make this a 25 s test
        ..JobSettings::default()
    };
    let summary = stack.run_job(settings, Duration::from_secs(120)).await;
    let calls = stack.aws_calls.take();
    assert_eq!(summary.refreshed, ACCOUNTS as u64, "{summary:?}");
    let kms: u32 = calls
        .iter()
        .filter(|(operation, _)| operation.starts_with("KMS."))
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "KMS calls for {ACCOUNTS} refreshes: {kms} ({:.4} per refresh): {calls:?}",
        f64::from(kms) / ACCOUNTS as f64
    );
    // One unwrap of the data key that sealed them all, one data key for the rotated pairs.
    assert_eq!(calls.get("KMS.Decrypt"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("KMS.GenerateDataKey"), Some(&1), "{calls:?}");
    assert_eq!(kms, 2);
    stack.assert_nothing_leaked().await;
}

/// The account's entry in the due index, as the table projects it.
async fn due_index_entry(
    stack: &Stack,
    account: &connect_domain::store::Account,
) -> HashMap<String, AttributeValue> {
    use connect_adapters::keys::{DUE_AT_ATTR, DUE_INDEX, DUE_SHARD_ATTR};
    let shard = connect_domain::schedule::due_shard(&account.app_user, &account.open_id);
    let out = stack
        .aws
        .dynamodb
        .query()
        .table_name(&stack.config.table_name)
        .index_name(DUE_INDEX)
        .key_condition_expression("#shard = :shard AND #due = :due")
        .expression_attribute_names("#shard", DUE_SHARD_ATTR)
        .expression_attribute_names("#due", DUE_AT_ATTR)
        .expression_attribute_values(":shard", AttributeValue::S(shard))
        .expression_attribute_values(
            ":due",
            AttributeValue::N(account.refresh_due_at.expect("due").to_string()),
        )
        .send()
        .await
        .expect("query the due index");
    out.items
        .unwrap_or_default()
        .into_iter()
        .find(|entry| {
            entry.get("open_id").and_then(|v| v.as_s().ok()) == Some(&account.open_id.to_string())
        })
        .expect("the account's entry")
}

/// DynamoDB's size of an item, by its documented rules ("Item sizes and formats"): each
/// attribute's name in UTF-8 bytes plus its value: a string's UTF-8 bytes, a binary's bytes, a
/// number's significant digits halved (rounded up) plus one byte. (The account item holds no
/// other types.)
fn item_bytes(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    AttributeValue::N(n) => {
                        let digits = n.trim_start_matches('-').replace('.', "");
                        let significant = digits.trim_start_matches('0').trim_end_matches('0');
                        significant.len().div_ceil(2) + 1
                    }
                    other => panic!("an attribute type the model does not size: {other:?}"),
                }
        })
        .sum()
}

/// Write units of one write of an item of `bytes`: one per started KB.
fn wru(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// Write units of one refresh by the job, from the account item's size before the lease
/// (`plain`), while leased (`leased`) and its due-index entry's (`entry`), by DynamoDB's rules: the
/// lease's UpdateItem (the larger image; the lease is not projected, so the index is not
/// written), the token write's UpdateItem (the larger image is the leased one), and the index
/// entry it moves (its sort key changes: the old entry deleted, the new one put).
fn wru_per_refresh(leased: usize, entry: usize) -> usize {
    let lease = wru(leased);
    let token_write = wru(leased) + wru(entry) + wru(entry);
    lease + token_write
}

/// The same with the index that projected the whole item (`refresh-due`, before `due-by-shard`):
/// the lease wrote its entry too, and the moved entry was the whole item.
fn wru_per_refresh_projecting_all(plain: usize, leased: usize) -> usize {
    let lease = wru(leased) + wru(leased);
    let token_write = wru(leased) + wru(leased) + wru(plain);
    lease + token_write
}

/// The cost model of docs/operations.md#custody-at-scale prices a refresh's writes by the account
/// item's size, measured here as the code stores it, before and while leased. And as it would be
/// deployed: an `open_id` of 36 characters (TikTok's examples; 15 here) in the sort keys and an
/// attribute, a `union_id` of 36, an avatar URL with its signed query string (about 250 bytes;
/// about 100 here), and the wrapped data key in the envelope as real KMS returns it (184 bytes,
/// moto's is shorter). The profile is in an item of its own, which a refresh does not write; the
/// test also prices the layout before it (the profile in the account item). When the numbers
/// move, redo the model.
#[tokio::test]
async fn the_account_item_is_as_large_as_the_cost_model_says() {
    use connect_domain::clock::Clock as _;
    use connect_domain::store::{RefreshLease, TokenRotation as _};
    let stack = Stack::start(StackOptions::default()).await;
    stack.connect_account("app-user-1", ALICE, None).await;
    let plain_item = alice_item(&stack, "app-user-1").await.1;
    let profile_item = stack
        .raw_item("USER#app-user-1", &format!("PROFILE#{ALICE}"))
        .await
        .expect("Alice's profile item");
    assert!(
        !plain_item.contains_key("avatar_url") && profile_item.contains_key("avatar_url"),
        "the profile is in its own item: {:?}",
        plain_item.keys()
    );
    let account = stack.account("app-user-1", ALICE).await.expect("account");
    let lease = RefreshLease {
        id: "0123456789abcdef0123456789abcdef".into(), // 128-bit hex, as the keeper's
        until_ms: stack.clock.now_millis() + 60_000,
    };
    let taken = stack
        .accounts
        .take_refresh_lease(&account, &lease, stack.clock.now_millis())
        .await
        .expect("lease");
    assert!(taken.is_some());
    let leased_item = alice_item(&stack, "app-user-1").await.1;
    // The due index's entry, as DynamoDB (here moto) projects it, plus the 100 bytes DynamoDB
    // adds to every index entry.
    let entry = due_index_entry(&stack, &account).await;
    assert!(
        !entry.contains_key("sealed_tokens") && !entry.contains_key("refresh_lease_id"),
        "{:?}",
        entry.keys()
    );
    let entry = item_bytes(&entry) + 100;
    let (plain, leased) = (item_bytes(&plain_item), item_bytes(&leased_item));
    let union_id = profile_item["union_id"].as_s().expect("union_id").len();
    let avatar = profile_item["avatar_url"].as_s().expect("avatar_url").len();
    let sealed = plain_item["sealed_tokens"]
        .as_b()
        .expect("sealed_tokens")
        .as_ref();
    // MAGIC, then the wrapped key's length (2 bytes, big-endian).
    let wrapped = usize::from(u16::from_be_bytes([
        sealed[MAGIC.len()],
        sealed[MAGIC.len() + 1],
    ]));
    // The open_id is in the account item twice (the sort key and the attribute), in the profile
    // item once (the sort key), and in the index entry twice.
    let open_id_longer = 36 - ALICE.len();
    let longer = 2 * open_id_longer + 184usize.saturating_sub(wrapped);
    let profile_longer = open_id_longer + (36 - union_id) + (250 - avatar);
    // The layout before: the profile's attributes in the account item, no fingerprint.
    let attribute = |item: &HashMap<String, AttributeValue>, name: &str| {
        item_bytes(&HashMap::from([(name.to_owned(), item[name].clone())]))
    };
    let profile_attrs =
        item_bytes(&profile_item) - attribute(&profile_item, "pk") - attribute(&profile_item, "sk");
    let digest = attribute(&plain_item, "profile_digest");
    let mut sizes: Vec<(usize, String)> = plain_item
        .iter()
        .map(|(name, value)| {
            let one = HashMap::from([(name.clone(), value.clone())]);
            (item_bytes(&one), name.clone())
        })
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let entry_longer = 2 * open_id_longer;
    let stored = wru_per_refresh(leased, entry);
    let deployed = wru_per_refresh(leased + longer, entry + entry_longer);
    let (inline_leased, inline_plain) = (
        leased + profile_attrs - digest,
        plain + profile_attrs - digest,
    );
    let inline_longer = longer + (36 - union_id) + (250 - avatar);
    let inline = (
        wru_per_refresh(inline_leased, entry),
        wru_per_refresh(inline_leased + inline_longer, entry + entry_longer),
    );
    let projecting_all = (
        wru_per_refresh_projecting_all(inline_plain, inline_leased),
        wru_per_refresh_projecting_all(inline_plain + inline_longer, inline_leased + inline_longer),
    );
    eprintln!(
        "account item: {plain} bytes, {leased} leased ({} and {} deployed-sized; wrapped key \
         {wrapped} bytes here); profile item {} bytes ({} deployed-sized); due-index entry \
         {entry} bytes ({} deployed-sized); WRU per refresh: {stored} as stored, {deployed} \
         deployed-sized (with the profile in the account item: {} and {}; and the index \
         projecting the whole item: {} and {}); largest attributes: {sizes:?}",
        plain + longer,
        leased + longer,
        item_bytes(&profile_item),
        item_bytes(&profile_item) + profile_longer,
        entry + entry_longer,
        inline.0,
        inline.1,
        projecting_all.0,
        projecting_all.1,
    );
    assert_eq!(
        (stored, deployed, inline, projecting_all),
        (4, 4, (4, 6), (5, 10)),
        "the write units per refresh changed: redo docs/operations.md#custody-at-scale"
    );
}
