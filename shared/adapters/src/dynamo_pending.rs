//! Pending connections in DynamoDB: the callback's grant, kept until its app user confirms it.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem};
use connect_domain::ids::OpenId;

use crate::dynamo::{
    DynamoAccountStore, Item, OWNERSHIP_ATTEMPTS, SaveAttempt, condition_failed, get_b,
    get_consistent, get_n, get_opt_s, get_s, get_scopes, key, n, s, unavailable,
};
use crate::keys::{
    self, CONNECTION_SK, DUE_AT_ATTR, DUE_SHARD_ATTR, PENDING_DUE_SHARD, TABLE_HASH_KEY,
};
use connect_domain::store::{
    Account, AccountReader as _, Confirmation, ConnectionKey, PendingConnection,
    PendingConnectionStore, StoreError,
};

/// How long DynamoDB's TTL may keep an item the job already forgot or could not reach; expiry
/// itself is checked in code.
const TTL_GRACE_SECS: i64 = 2 * 86_400;

fn pending_key(key: &ConnectionKey) -> Item {
    self::key(keys::connection_pk(key), CONNECTION_SK)
}

fn pending_item(key: &ConnectionKey, pending: &PendingConnection) -> Item {
    let mut item = pending_key(key);
    item.insert("app_user".into(), s(&pending.app_user));
    item.insert("open_id".into(), s(&pending.open_id));
    item.insert("scopes".into(), s(pending.scopes.to_comma_list()));
    item.insert(
        "sealed_tokens".into(),
        AttributeValue::B(Blob::new(pending.sealed_tokens.clone())),
    );
    item.insert(
        "access_token_expires_at".into(),
        n(pending.access_token_expires_at),
    );
    item.insert(
        "refresh_token_expires_at".into(),
        n(pending.refresh_token_expires_at),
    );
    item.insert("expires_at".into(), n(pending.expires_at));
    item.insert("ttl".into(), n(pending.expires_at + TTL_GRACE_SECS));
    // In the due index under its own partition, due when it expires: the job's sweep.
    item.insert(DUE_SHARD_ATTR.into(), s(PENDING_DUE_SHARD));
    item.insert(DUE_AT_ATTR.into(), n(pending.expires_at));
    for (name, value) in [
        ("union_id", &pending.union_id),
        ("display_name", &pending.display_name),
        ("avatar_url", &pending.avatar_url),
        ("username", &pending.username),
    ] {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    item
}

fn pending_from_item(item: &Item) -> Result<PendingConnection, StoreError> {
    Ok(PendingConnection {
        app_user: get_s(item, "app_user")?,
        open_id: get_s(item, "open_id")?.into(),
        union_id: get_opt_s(item, "union_id"),
        display_name: get_opt_s(item, "display_name"),
        avatar_url: get_opt_s(item, "avatar_url"),
        username: get_opt_s(item, "username"),
        scopes: get_scopes(item, "scopes")?,
        sealed_tokens: get_b(item, "sealed_tokens")?,
        access_token_expires_at: get_n(item, "access_token_expires_at")?,
        refresh_token_expires_at: get_n(item, "refresh_token_expires_at")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

impl DynamoAccountStore {
    /// A pending connection, whole and expired or not (a strongly consistent read).
    async fn read_pending(
        &self,
        key: &ConnectionKey,
    ) -> Result<Option<PendingConnection>, StoreError> {
        let out = get_consistent(&self.client, &self.table, pending_key(key)).await?;
        out.as_ref().map(pending_from_item).transpose()
    }
}

impl PendingConnectionStore for DynamoAccountStore {
    async fn put_pending(
        &self,
        key: &ConnectionKey,
        pending: &PendingConnection,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(pending_item(key, pending)))
            // 256 random bits never collide; the condition makes an overwrite impossible anyway.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Only this request can have written this key: an earlier try was applied and its
            // answer lost, and the SDK's retry found it.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn get_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<Option<PendingConnection>, StoreError> {
        let pending = self.read_pending(key).await?;
        Ok(pending.filter(|p| p.expires_at > now))
    }

    async fn take_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<Option<PendingConnection>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(pending_key(key)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => pending_from_item(&out.attributes.unwrap_or_default()).map(Some),
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn confirm_pending(
        &self,
        key: &ConnectionKey,
        account: &Account,
        now: i64,
    ) -> Result<Confirmation, StoreError> {
        for _ in 0..OWNERSHIP_ATTEMPTS {
            let consume = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(pending_key(key)))
                .condition_expression(
                    "attribute_exists(pk) AND expires_at > :now AND app_user = :app_user",
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":app_user", s(&account.app_user))
                .build()
                .map_err(|_| StoreError::Corrupt("pending connection delete"))?;
            let consume = TransactWriteItem::builder().delete(consume).build();
            match self.try_save(account, Some(consume)).await? {
                SaveAttempt::Saved(previous_owner) => {
                    return Ok(Confirmation::Saved { previous_owner });
                }
                // Ownership moved (retry), the pending connection went (stop), or this very
                // transaction was applied and its answer lost (the SDK's retry then fails on the
                // consumed pending connection): the stored grant id tells.
                SaveAttempt::Canceled { would_take_from } => {
                    if self.get_pending(key, now).await?.is_some() {
                        tracing::info!("ownership changed during confirm; retrying");
                        continue;
                    }
                    let stored = self.get(&account.app_user, &account.open_id).await?;
                    if stored.is_some_and(|stored| stored.grant_id == account.grant_id) {
                        return Ok(Confirmation::Saved {
                            previous_owner: would_take_from,
                        });
                    }
                    return Ok(Confirmation::Gone);
                }
            }
        }
        Err(StoreError::Contention)
    }

    async fn expired_pending(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<Vec<(ConnectionKey, PendingConnection)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(self.due_index)
            .key_condition_expression("#shard = :shard AND #due <= :now")
            .expression_attribute_names("#shard", DUE_SHARD_ATTR)
            .expression_attribute_names("#due", DUE_AT_ATTR)
            .expression_attribute_values(":shard", s(PENDING_DUE_SHARD))
            .expression_attribute_values(":now", n(now))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        // The index lists them without their tokens, which the sweep needs to revoke the grant:
        // each is read whole (an abandoned connection is rare; one read each).
        let mut expired = Vec::new();
        for listed in out.items.unwrap_or_default() {
            let key = keys::connection_key_from_pk(&get_s(&listed, TABLE_HASH_KEY)?)
                .ok_or(StoreError::Corrupt("pk"))?;
            // Gone since the index listed it: confirmed, or forgotten by another run.
            if let Some(pending) = self.read_pending(&key).await? {
                expired.push((key, pending));
            }
        }
        Ok(expired)
    }

    async fn open_id_connected(&self, open_id: &OpenId) -> Result<bool, StoreError> {
        Ok(self.current_owner(open_id).await?.is_some())
    }

    async fn forget_expired_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(pending_key(key)))
            .condition_expression("expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already gone, or not expired after all: nothing to forget.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}
