//! The DynamoDB adapter of `PublishStore`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::{Item, conditional, get_n, get_opt_s, get_s, key, n, s, unavailable};
use connect_domain::store::{
    Claim, PublishRecord, PublishStore, StatusUpdate, StoreError, StoredAnswer, Written,
};
use connect_domain::tiktok::{PostMode, PublishState};

const PUBLISH_SK: &str = "PUBLISH";
const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
const WEBHOOK_SK: &str = "WEBHOOK";

/// Posts, `Idempotency-Key` claims, per-account call windows and webhook deliveries in DynamoDB,
/// in the same table as the accounts.
#[derive(Debug, Clone)]
pub struct DynamoPublishStore {
    client: Client,
    table: String,
}

impl DynamoPublishStore {
    /// A store on `table` (`TABLE_NAME`), the one table all the ports share.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn is_condition_failure<E>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

fn publish_key(publish_id: &str) -> Item {
    key(format!("PUBLISH#{publish_id}"), PUBLISH_SK)
}

/// A webhook delivery's record: its body's hash.
fn webhook_key(body_hash: &str) -> Item {
    key(format!("WEBHOOK#{body_hash}"), WEBHOOK_SK)
}

fn idempotency_key(key_hash: &str) -> Item {
    key(format!("IDEMPOTENCY#{key_hash}"), IDEMPOTENCY_SK)
}

fn post_ids(item: &Item) -> Vec<String> {
    let mut ids = item
        .get("post_ids")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    ids.sort();
    ids
}

fn record_from_item(item: &Item) -> Result<PublishRecord, StoreError> {
    Ok(PublishRecord {
        publish_id: get_s(item, "publish_id")?,
        app_user: get_s(item, "app_user")?,
        open_id: get_s(item, "open_id")?,
        mode: PostMode::parse(&get_s(item, "mode")?).ok_or(StoreError::Corrupt("mode"))?,
        source: get_s(item, "source")?,
        state: PublishState::parse(&get_s(item, "status")?).ok_or(StoreError::Corrupt("status"))?,
        fail_reason: get_opt_s(item, "fail_reason"),
        post_ids: post_ids(item),
        uploaded_bytes: get_n(item, "uploaded_bytes").ok(),
        downloaded_bytes: get_n(item, "downloaded_bytes").ok(),
        created_at: get_n(item, "created_at")?,
        updated_at: get_n(item, "updated_at")?,
    })
}

impl PublishStore for DynamoPublishStore {
    async fn claim_idempotent(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Claim, StoreError> {
        let mut item = idempotency_key(key_hash);
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("state".into(), s("pending"));
        item.insert("claimed_at".into(), n(now));
        item.insert("ttl".into(), n(expires_at));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // TTL deletes late: an expired claim is free again.
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(Claim::Claimed),
            Err(err) if is_condition_failure(&err) => {}
            Err(err) => return Err(unavailable(err)),
        }
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(key_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = found.item else {
            // Released between our put and our read: the caller may simply try again.
            return Ok(Claim::InProgress { claimed_at: now });
        };
        if get_s(&item, "fingerprint")? != fingerprint {
            return Ok(Claim::Mismatch);
        }
        if get_s(&item, "state")? != "done" {
            return Ok(Claim::InProgress {
                claimed_at: get_n(&item, "claimed_at")?,
            });
        }
        let sealed_body = item
            .get("sealed_body")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.clone().into_inner())
            .ok_or(StoreError::Corrupt("sealed_body"))?;
        let status = u16::try_from(get_n(&item, "answer_status")?)
            .map_err(|_| StoreError::Corrupt("answer_status"))?;
        Ok(Claim::Replay(StoredAnswer {
            status,
            sealed_body,
        }))
    }

    async fn finish_idempotent(
        &self,
        key_hash: &str,
        answer: &StoredAnswer,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(key_hash)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET #state = :done, answer_status = :status, sealed_body = :body")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s("done"))
            .expression_attribute_values(":status", n(i64::from(answer.status)))
            .expression_attribute_values(
                ":body",
                AttributeValue::B(Blob::new(answer.sealed_body.clone())),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn release_idempotent(&self, key_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(key_hash)))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn save_publish(&self, record: &PublishRecord) -> Result<(), StoreError> {
        let mut item = publish_key(&record.publish_id);
        item.insert("publish_id".into(), s(&record.publish_id));
        item.insert("app_user".into(), s(&record.app_user));
        item.insert("open_id".into(), s(&record.open_id));
        item.insert("mode".into(), s(record.mode.as_str()));
        item.insert("source".into(), s(&record.source));
        item.insert("status".into(), s(record.state.as_str()));
        item.insert("status_rank".into(), n(record.state.rank()));
        item.insert("created_at".into(), n(record.created_at));
        item.insert("updated_at".into(), n(record.updated_at));
        if !record.post_ids.is_empty() {
            item.insert(
                "post_ids".into(),
                AttributeValue::Ss(record.post_ids.clone()),
            );
        }
        // A publish id is TikTok's and unique; a webhook may have arrived first (it cannot
        // create the record), so a plain put is right.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn get_publish(&self, publish_id: &str) -> Result<Option<PublishRecord>, StoreError> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(publish_key(publish_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        found.item.as_ref().map(record_from_item).transpose()
    }

    async fn advance_publish(
        &self,
        publish_id: &str,
        open_id: &str,
        update: &StatusUpdate,
    ) -> Result<Written, StoreError> {
        let mut set = vec![
            "#status = :status",
            "status_rank = :rank",
            "updated_at = :at",
        ];
        let mut builder = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(publish_key(publish_id)))
            // Forward only; a final status never changes into another final one.
            .condition_expression(
                "attribute_exists(pk) AND open_id = :open_id AND (status_rank < :rank OR \
                 (status_rank = :rank AND (status_rank < :final OR #status = :status)))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(update.state.as_str()))
            .expression_attribute_values(":rank", n(update.state.rank()))
            .expression_attribute_values(":final", n(PublishState::Failed.rank()))
            .expression_attribute_values(":at", n(update.at))
            .expression_attribute_values(":open_id", s(open_id));
        if let Some(reason) = &update.fail_reason {
            set.push("fail_reason = :reason");
            builder = builder.expression_attribute_values(":reason", s(reason));
        }
        if let Some(bytes) = update.uploaded_bytes {
            set.push("uploaded_bytes = :up");
            builder = builder.expression_attribute_values(":up", n(bytes));
        }
        if let Some(bytes) = update.downloaded_bytes {
            set.push("downloaded_bytes = :down");
            builder = builder.expression_attribute_values(":down", n(bytes));
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !update.post_ids.is_empty() {
            expression.push_str(" ADD post_ids :ids");
            builder = builder
                .expression_attribute_values(":ids", AttributeValue::Ss(update.post_ids.clone()));
        }
        conditional(builder.update_expression(expression)).await
    }

    async fn take_rate(
        &self,
        open_id: &str,
        window: &str,
        limit: u32,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        super::dynamo::take_rate(
            &self.client,
            &self.table,
            open_id,
            window,
            limit,
            expires_at,
        )
        .await
    }

    async fn claim_event(
        &self,
        body_hash: &str,
        now: i64,
        stale_before: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut item = webhook_key(body_hash);
        item.insert("ttl".into(), n(expires_at));
        item.insert("event_state".into(), s("processing"));
        item.insert("claimed_at".into(), n(now));
        // Records written before the state existed have none: they count as processed.
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR (event_state = :processing AND claimed_at < :stale)",
            )
            .expression_attribute_values(":processing", s("processing"))
            .expression_attribute_values(":stale", n(stale_before))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn finish_event(&self, body_hash: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(webhook_key(body_hash)))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET event_state = :done REMOVE claimed_at")
            .expression_attribute_values(":done", s("done"))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn forget_event(&self, body_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(webhook_key(body_hash)))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
