//! The DynamoDB adapter of `PublishStore`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use connect_domain::ids::{OpenId, PublishId};

use crate::dynamo::{
    Item, condition_failed, conditional, get_consistent, get_n, get_opt_s, get_s, key, n, put_if,
    s, unavailable,
};
use crate::keys::{LISTED_AT_ATTR, POSTS_OF_ATTR, PUBLISH_PK_PREFIX, PUBLISH_SK};
use connect_domain::store::{
    Advanced, Claim, PostingHistory, PublishRecord, PublishStore, StatusUpdate, StoreError,
    StoredAnswer,
};
use connect_domain::tiktok::{MediaType, PostMode, PublishState};

const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
const WEBHOOK_SK: &str = "WEBHOOK";
const POSTING_SK: &str = "POSTING";
/// A posting history item outlives its last write by a day: what it holds matters for 24 h.
const POSTING_TTL_SECS: i64 = 24 * 3600;

/// Posts, `Idempotency-Key` claims, per-account call windows and webhook deliveries in DynamoDB,
/// in the same table as the accounts.
#[derive(Debug, Clone)]
pub struct DynamoPublishStore {
    pub(crate) client: Client,
    pub(crate) table: String,
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

fn publish_key(publish_id: &str) -> Item {
    key(format!("{PUBLISH_PK_PREFIX}{publish_id}"), PUBLISH_SK)
}

/// A webhook delivery's record: its body's hash.
fn webhook_key(body_hash: &str) -> Item {
    key(format!("WEBHOOK#{body_hash}"), WEBHOOK_SK)
}

/// An account's posting history, by a hash of its `open_id` (like the rate windows).
fn posting_key(open_id: &str) -> Item {
    use sha2::{Digest as _, Sha256};
    let who = hex::encode(Sha256::digest(open_id.as_bytes()));
    key(format!("POSTING#{who}"), POSTING_SK)
}

/// The time of an inbox upload entry `<unix s>:<publish_id>`.
fn upload_time(entry: &str) -> Option<i64> {
    entry.split_once(':').and_then(|(at, _)| at.parse().ok())
}

fn idempotency_key(key_hash: &str) -> Item {
    key(format!("IDEMPOTENCY#{key_hash}"), IDEMPOTENCY_SK)
}

/// A string set, sorted (an absent set is empty: DynamoDB stores no empty sets).
pub(crate) fn string_set(item: &Item, name: &str) -> Vec<String> {
    let mut ids = item
        .get(name)
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    ids.sort();
    ids
}

pub(crate) fn record_from_item(item: &Item) -> Result<PublishRecord, StoreError> {
    let withdrawn_post_ids = string_set(item, "withdrawn_post_ids");
    let mut post_ids = string_set(item, "post_ids");
    post_ids.retain(|id| !withdrawn_post_ids.contains(id));
    Ok(PublishRecord {
        publish_id: get_s(item, "publish_id")?.into(),
        app_user: get_s(item, "app_user")?,
        open_id: get_s(item, "open_id")?.into(),
        mode: PostMode::parse(&get_s(item, "mode")?).ok_or(StoreError::Corrupt("mode"))?,
        media_type: match get_opt_s(item, "media_type") {
            None => MediaType::Video,
            Some(name) => MediaType::parse(&name).ok_or(StoreError::Corrupt("media_type"))?,
        },
        public: item
            .get("public")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        source: get_s(item, "source")?,
        state: PublishState::parse(&get_s(item, "status")?).ok_or(StoreError::Corrupt("status"))?,
        fail_reason: get_opt_s(item, "fail_reason"),
        post_ids,
        withdrawn_post_ids,
        uploaded_bytes: get_n(item, "uploaded_bytes").ok(),
        downloaded_bytes: get_n(item, "downloaded_bytes").ok(),
        scheduled_id: get_opt_s(item, "scheduled_id"),
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
        let claimed = put_if(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                // TTL deletes late: an expired claim is free again.
                .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now)),
        )
        .await?;
        if claimed {
            return Ok(Claim::Claimed);
        }
        let found = get_consistent(&self.client, &self.table, idempotency_key(key_hash)).await?;
        let Some(item) = found else {
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
        item.insert("media_type".into(), s(record.media_type.as_str()));
        item.insert("public".into(), AttributeValue::Bool(record.public));
        item.insert("source".into(), s(&record.source));
        item.insert("status".into(), s(record.state.as_str()));
        item.insert("status_rank".into(), n(record.state.rank()));
        item.insert("created_at".into(), n(record.created_at));
        item.insert("updated_at".into(), n(record.updated_at));
        // Listed for its app user (`ScheduleStore::list_posts`).
        item.insert(POSTS_OF_ATTR.into(), s(&record.app_user));
        item.insert(LISTED_AT_ATTR.into(), n(record.created_at));
        if let Some(id) = &record.scheduled_id {
            item.insert("scheduled_id".into(), s(id));
        }
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

    async fn get_publish(
        &self,
        publish_id: &PublishId,
    ) -> Result<Option<PublishRecord>, StoreError> {
        let found = get_consistent(&self.client, &self.table, publish_key(publish_id)).await?;
        found.as_ref().map(record_from_item).transpose()
    }

    async fn advance_publish(
        &self,
        publish_id: &PublishId,
        open_id: &OpenId,
        update: &StatusUpdate,
    ) -> Result<Advanced, StoreError> {
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
        let mut add = Vec::new();
        if !update.post_ids.is_empty() {
            add.push("post_ids :ids");
            builder = builder
                .expression_attribute_values(":ids", AttributeValue::Ss(update.post_ids.clone()));
        }
        if !update.withdrawn_post_ids.is_empty() {
            // Kept apart rather than deleted from post_ids: a late `publicly_available` for the
            // same id must not make it public again (reads subtract the withdrawn ones).
            add.push("withdrawn_post_ids :withdrawn");
            builder = builder.expression_attribute_values(
                ":withdrawn",
                AttributeValue::Ss(update.withdrawn_post_ids.clone()),
            );
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !add.is_empty() {
            expression.push_str(&format!(" ADD {}", add.join(", ")));
        }
        let written = builder
            .update_expression(expression)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match written {
            Ok(output) => output
                .attributes
                .as_ref()
                .map(record_from_item)
                .transpose()?
                .map(|before| Advanced::Applied(Box::new(before)))
                .ok_or(StoreError::Corrupt("advanced post without its old record")),
            Err(err) if condition_failed(&err) => Ok(Advanced::Stale),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn take_rate(
        &self,
        open_id: &OpenId,
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

    async fn posting_history(
        &self,
        open_id: &OpenId,
        init_window: &str,
    ) -> Result<PostingHistory, StoreError> {
        let posting = posting_key(open_id);
        let rate = crate::dynamo::rate_key(open_id, init_window);
        let keys = KeysAndAttributes::builder()
            .keys(posting.clone())
            .keys(rate.clone())
            .consistent_read(true)
            .build()
            .map_err(|_| StoreError::Corrupt("posting history keys"))?;
        let found = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(unavailable)?;
        // Two small items never come back as unprocessed keys in practice; if they do, the
        // answer is advisory and simply knows less.
        let items = found
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let mut history = PostingHistory::default();
        for item in &items {
            if item.get("pk") == posting.get("pk") {
                history.last_refusal =
                    get_opt_s(item, "refusal_code").zip(get_n(item, "refusal_at").ok());
                history.inbox_uploads = item
                    .get("inbox_uploads")
                    .and_then(|v| v.as_ss().ok())
                    .map(|entries| entries.iter().filter_map(|e| upload_time(e)).collect())
                    .unwrap_or_default();
                history.inbox_uploads.sort_unstable();
            } else if item.get("pk") == rate.get("pk") {
                history.inits_this_minute = get_n(item, "calls")
                    .ok()
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(0);
            }
        }
        Ok(history)
    }

    async fn note_refusal(&self, open_id: &OpenId, code: &str, at: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(posting_key(open_id)))
            .update_expression("SET refusal_code = :code, refusal_at = :at, #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":code", s(code))
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":ttl", n(at + POSTING_TTL_SECS))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn forget_refusal(&self, open_id: &OpenId, code: &str) -> Result<(), StoreError> {
        // Refused (nothing to forget) when another refusal, or none, is remembered.
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(posting_key(open_id)))
                .condition_expression("refusal_code = :code")
                .update_expression("REMOVE refusal_code, refusal_at")
                .expression_attribute_values(":code", s(code)),
        )
        .await
        .map(|_| ())
    }

    async fn note_inbox_upload(
        &self,
        open_id: &OpenId,
        publish_id: &PublishId,
        at: i64,
        since: i64,
    ) -> Result<(), StoreError> {
        let key = posting_key(open_id);
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .projection_expression("inbox_uploads")
            .send()
            .await
            .map_err(unavailable)?;
        let stored: Vec<String> = found
            .item
            .as_ref()
            .and_then(|item| item.get("inbox_uploads"))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        // `<unix s>:<publish_id>`: unique per upload, so two in one second both count.
        let entry = format!("{at}:{publish_id}");
        let recent = |e: &String| upload_time(e).is_some_and(|t| t >= since);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":ttl", n(at + POSTING_TTL_SECS));
        let update = if stored.iter().all(recent) {
            // Nothing to drop: ADD to the set is atomic, so concurrent uploads all count.
            update
                .update_expression("ADD inbox_uploads :entry SET #ttl = :ttl")
                .expression_attribute_values(":entry", AttributeValue::Ss(vec![entry]))
        } else {
            // Rewritten without the old entries (an update may not ADD and DELETE one
            // attribute); a concurrent upload may be lost from this advisory count.
            let kept: Vec<String> = stored
                .into_iter()
                .filter(recent)
                .chain(std::iter::once(entry))
                .collect();
            update
                .update_expression("SET inbox_uploads = :kept, #ttl = :ttl")
                .expression_attribute_values(":kept", AttributeValue::Ss(kept))
        };
        update.send().await.map(|_| ()).map_err(unavailable)
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
        put_if(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(
                    "attribute_not_exists(pk) OR (event_state = :processing AND claimed_at < :stale)",
                )
                .expression_attribute_values(":processing", s("processing"))
                .expression_attribute_values(":stale", n(stale_before)),
        )
        .await
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
