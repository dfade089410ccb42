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

/// Alice's account item as stored (`pk`, `sk` and `sealed_tokens`).
async fn sealed_tokens_of(
    stack: &Stack,
    app_user: &str,
) -> (HashMap<String, AttributeValue>, Vec<u8>) {
    let key = HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("USER#{app_user}")),
        ),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("TIKTOK#{ALICE}")),
        ),
    ]);
    let item = stack
        .aws
        .dynamodb
        .get_item()
        .table_name(&stack.config.table_name)
        .set_key(Some(key.clone()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .expect("Alice's account item");
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
