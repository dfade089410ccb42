//! DynamoDB adapters of the state and account ports.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, Select, TransactWriteItem, Update,
};

use crate::dynamo_profile::{
    Fields, carries_old_profile, digest_value, old_profile_attrs, profile_delete, profile_of,
    profile_put, profile_update, with_profile,
};
use crate::keys::{
    self, ACCOUNT_SK_PREFIX, DUE_AT_ATTR, DUE_INDEX, DUE_SHARD_ATTR, OWNER_SK, STATE_SK,
    TABLE_HASH_KEY, TABLE_RANGE_KEY,
};
use connect_domain::ids::OpenId;
use connect_domain::schedule::{due_shard, shard_key};
use connect_domain::scope::ScopeSet;
use connect_domain::store::{
    Account, AccountReader, AccountStatus, Connections, DueCursor, NoticeStore, PendingState,
    RefreshLease, RefreshQueue, RenewedTokens, Revocations, RevokeReason, StateKey, StateStore,
    StoreError, TokenRotation, Written,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

/// How often a connection save re-reads ownership after losing a race before giving up.
pub(crate) const OWNERSHIP_ATTEMPTS: usize = 3;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (TABLE_HASH_KEY.to_owned(), s(pk)),
        (TABLE_RANGE_KEY.to_owned(), s(sk)),
    ])
}

pub(crate) fn unavailable<E>(err: aws_sdk_dynamodb::error::SdkError<E>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    StoreError::Unavailable(DisplayErrorContext(err).to_string())
}

/// One item by its key, read consistently: every read of ours must see the write before it (a
/// refresh's rotated token, a claimed idempotency key, a confirmed connection).
pub(crate) async fn get_consistent(
    client: &Client,
    table: &str,
    key: Item,
) -> Result<Option<Item>, StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(unavailable)?;
    Ok(out.item)
}

/// Whether DynamoDB refused a write because its condition did not hold (any operation).
pub(crate) fn condition_failed<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

pub(crate) fn get_s(item: &Item, name: &'static str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or(StoreError::Corrupt(name))
}

pub(crate) fn get_opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn get_n(item: &Item, name: &'static str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(StoreError::Corrupt(name))
}

pub(crate) fn get_b(item: &Item, name: &'static str) -> Result<Vec<u8>, StoreError> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.clone().into_inner())
        .ok_or(StoreError::Corrupt(name))
}

pub(crate) fn get_scopes(item: &Item, name: &'static str) -> Result<ScopeSet, StoreError> {
    ScopeSet::parse_comma_list(&get_s(item, name)?).map_err(|_| StoreError::Corrupt(name))
}

/// A conditional put: `true` when it was written, `false` when its condition failed (the item
/// is someone else's, or already there).
pub(crate) async fn put_if(put: PutItemFluentBuilder) -> Result<bool, StoreError> {
    match put.send().await {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(unavailable(err)),
    }
}

/// One transaction: `true` when applied, `false` when it was cancelled (a condition failed, or a
/// conflicting write was under way), the error otherwise.
pub(crate) async fn transact_if(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<bool, StoreError> {
    match client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_transaction_canceled_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(unavailable(err)),
    }
}

/// `Stale` when the write's condition failed, the error otherwise.
pub(crate) async fn conditional(update: UpdateItemFluentBuilder) -> Result<Written, StoreError> {
    match update.send().await {
        Ok(_) => Ok(Written::Yes),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(Written::Stale)
        }
        Err(err) => Err(unavailable(err)),
    }
}

/// Counts one call in a rate window (`pk = RATE#<sha256(subject)>#<window>`, TTL `expires_at`):
/// one conditional UpdateItem, shared by every Lambda instance. `false` when `limit` calls were
/// already counted (nothing is counted then).
/// The key of `subject`'s counter in `window`, by a hash of the subject (an `open_id` or an app
/// user).
pub(crate) fn rate_key(subject: &str, window: &str) -> Item {
    use sha2::{Digest as _, Sha256};
    let who = hex::encode(Sha256::digest(subject.as_bytes()));
    key(format!("RATE#{who}#{window}"), keys::RATE_SK)
}

pub(crate) async fn take_rate(
    client: &Client,
    table: &str,
    subject: &str,
    window: &str,
    limit: u32,
    expires_at: i64,
) -> Result<bool, StoreError> {
    let update = client
        .update_item()
        .table_name(table)
        .set_key(Some(rate_key(subject, window)))
        .condition_expression("attribute_not_exists(calls) OR calls < :limit")
        .update_expression("ADD calls :one SET #ttl = :ttl")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":limit", n(i64::from(limit)))
        .expression_attribute_values(":ttl", n(expires_at));
    Ok(conditional(update).await? == Written::Yes)
}

/// OAuth states in DynamoDB, and the per-minute connect-start counts (`count_start`).
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
}

impl DynamoStateStore {
    /// A store on `table` (`TABLE_NAME`), the one table all the ports share.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl StateStore for DynamoStateStore {
    async fn put(&self, key: &StateKey, state: &PendingState) -> Result<(), StoreError> {
        let mut item = keys_for_state(key);
        item.insert("app_user".into(), s(&state.app_user));
        item.insert("scopes".into(), s(state.scopes.to_comma_list()));
        item.insert("return_to".into(), s(&state.return_to));
        if let Some(uri) = &state.redirect_uri {
            item.insert("redirect_uri".into(), s(uri));
        }
        item.insert("expires_at".into(), n(state.expires_at));
        // TTL only cleans up; expiry is enforced in `take`.
        item.insert("ttl".into(), n(state.expires_at + 3600));
        if let Some(sealed) = &state.sealed_verifier {
            item.insert(
                "sealed_verifier".into(),
                AttributeValue::B(Blob::new(sealed.clone())),
            );
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // 256 random bits never collide; the condition makes an overwrite impossible anyway.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn count_start(
        &self,
        app_user: &str,
        minute: i64,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let window = format!("authorize#{minute}");
        let subject = format!("USER#{app_user}");
        take_rate(
            &self.client,
            &self.table,
            &subject,
            &window,
            limit,
            (minute + 2) * 60,
        )
        .await
    }

    async fn take(&self, key: &StateKey, now: i64) -> Result<Option<PendingState>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys_for_state(key)))
            .condition_expression("attribute_exists(pk) AND expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let item = match result {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(unavailable(err)),
        };
        Ok(Some(PendingState {
            app_user: get_s(&item, "app_user")?,
            scopes: get_scopes(&item, "scopes")?,
            return_to: get_s(&item, "return_to")?,
            redirect_uri: get_s(&item, "redirect_uri").ok(),
            sealed_verifier: get_b(&item, "sealed_verifier").ok(),
            expires_at: get_n(&item, "expires_at")?,
        }))
    }
}

fn keys_for_state(key: &StateKey) -> Item {
    self::key(keys::state_pk(key), STATE_SK)
}

/// Connected accounts and their ownership records in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoAccountStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) due_index: &'static str,
}

impl DynamoAccountStore {
    /// A store on `table` (`TABLE_NAME`), the one table all the ports share, reading the due
    /// index [`DUE_INDEX`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            due_index: DUE_INDEX,
        }
    }

    /// The same store reading another due index: [`keys::LEGACY_DUE_INDEX`] while a stack
    /// upgrades (its replacement is still being built).
    pub fn reading_due_index(self, due_index: &'static str) -> Self {
        Self { due_index, ..self }
    }

    fn account_key(app_user: &str, open_id: &str) -> Item {
        key(keys::user_pk(app_user), &keys::account_sk(open_id))
    }

    /// An update of `account` that applies only while the record still holds the same grant at
    /// the same version, and `also` (an extra condition, or "").
    fn update_at_version(&self, account: &Account, also: &str) -> UpdateItemFluentBuilder {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::account_key(&account.app_user, &account.open_id)))
            .expression_attribute_values(":version", n(account.token_version));
        let (grant, update) = if account.grant_id.is_empty() {
            ("attribute_not_exists(grant_id)", update)
        } else {
            (
                "grant_id = :grant_id",
                update.expression_attribute_values(":grant_id", s(&account.grant_id)),
            )
        };
        let also = if also.is_empty() {
            String::new()
        } else {
            format!(" AND {also}")
        };
        update.condition_expression(format!("token_version = :version AND {grant}{also}"))
    }

    /// The due-index query of one shard up to `horizon`, continuing after `after`.
    fn due_query(&self, shard: u16, horizon: i64, after: Option<&DueCursor>) -> QueryFluentBuilder {
        let shard = shard_key(shard);
        let start = after.map(|cursor| {
            let mut start = Self::account_key(&cursor.app_user, &cursor.open_id);
            start.insert(DUE_SHARD_ATTR.to_owned(), s(&shard));
            start.insert(DUE_AT_ATTR.to_owned(), n(cursor.due_at));
            start
        });
        self.client
            .query()
            .table_name(&self.table)
            .index_name(self.due_index)
            .key_condition_expression("#shard = :shard AND #due <= :horizon")
            .expression_attribute_names("#shard", DUE_SHARD_ATTR)
            .expression_attribute_names("#due", DUE_AT_ATTR)
            .expression_attribute_values(":shard", s(shard))
            .expression_attribute_values(":horizon", n(horizon))
            .set_exclusive_start_key(start)
    }

    /// Copies the profile an old account item carries into the profile item, keeping any field
    /// the profile item already has (written since, so newer).
    async fn move_old_profile(&self, account: &Account) -> Result<(), StoreError> {
        let Some(update) = profile_update(&self.table, account, Fields::FillMissing)? else {
            return Ok(());
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.update_expression)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    pub(crate) async fn current_owner(&self, open_id: &str) -> Result<Option<String>, StoreError> {
        let out = get_consistent(
            &self.client,
            &self.table,
            key(keys::owner_pk(open_id), OWNER_SK),
        )
        .await?;
        out.map(|item| get_s(&item, "app_user")).transpose()
    }

    /// The account write: every attribute set, absent optional ones removed, version bumped.
    fn account_update(&self, account: &Account) -> Result<Update, StoreError> {
        let mut set: Vec<String> = [
            "app_user = :app_user",
            "open_id = :open_id",
            "scopes = :scopes",
            "#status = :status",
            "sealed_tokens = :sealed_tokens",
            "access_token_expires_at = :at_exp",
            "refresh_token_expires_at = :rt_exp",
            "connected_at = :connected_at",
            "token_version = if_not_exists(token_version, :zero) + :one",
            "grant_id = :grant_id",
        ]
        .map(String::from)
        .to_vec();
        let mut values: Item = HashMap::from([
            (":app_user".to_owned(), s(&account.app_user)),
            (":open_id".to_owned(), s(account.open_id.as_str())),
            (":scopes".to_owned(), s(account.scopes.to_comma_list())),
            (":status".to_owned(), s(AccountStatus::Active.as_str())),
            (
                ":sealed_tokens".to_owned(),
                AttributeValue::B(Blob::new(account.sealed_tokens.clone())),
            ),
            (":at_exp".to_owned(), n(account.access_token_expires_at)),
            (":rt_exp".to_owned(), n(account.refresh_token_expires_at)),
            (":connected_at".to_owned(), n(account.connected_at)),
            (":grant_id".to_owned(), s(&account.grant_id)),
            (":zero".to_owned(), n(0)),
            (":one".to_owned(), n(1)),
        ]);
        match account.refresh_due_at {
            Some(due_at) => {
                set.push(format!("{DUE_SHARD_ATTR} = :due_shard"));
                set.push(format!("{DUE_AT_ATTR} = :due_at"));
                values.insert(
                    ":due_shard".to_owned(),
                    s(due_shard(&account.app_user, &account.open_id)),
                );
                values.insert(":due_at".to_owned(), n(due_at));
            }
            None => return Err(StoreError::Corrupt("a connection must be scheduled")),
        }
        // A new grant supersedes any refresh of the old one, and its failures. The profile is
        // written to its own item (`dynamo_profile`), so an old record's copy goes.
        let mut remove = vec![
            "refresh_lease_until_ms",
            "refresh_lease_id",
            "refresh_failures",
            "revoked_reason",
        ];
        remove.extend(keys::PROFILE_ATTRS);
        match digest_value(account) {
            Some(digest) => {
                set.push("profile_digest = :profile_digest".to_owned());
                values.insert(":profile_digest".to_owned(), digest);
            }
            None => remove.push("profile_digest"),
        }
        let expression = format!("SET {} REMOVE {}", set.join(", "), remove.join(", "));
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::account_key(&account.app_user, &account.open_id)))
            .update_expression(expression)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|_| StoreError::Corrupt("account update"))
    }
}

/// What one ownership-locked save transaction did.
pub(crate) enum SaveAttempt {
    /// Written; the app user the account was taken from, if another.
    Saved(Option<String>),
    /// A condition failed (ownership changed since it was read, or `also`'s own condition), or
    /// an earlier try of this same request was applied and its answer lost. `would_take_from`
    /// is the previous owner this try read.
    Canceled { would_take_from: Option<String> },
}

impl DynamoAccountStore {
    /// One try at storing a connection: the account, its ownership record (only the owner just
    /// read may be replaced) and the previous owner's record removed, plus `also`, in one
    /// transaction.
    pub(crate) async fn try_save(
        &self,
        account: &Account,
        also: Option<TransactWriteItem>,
    ) -> Result<SaveAttempt, StoreError> {
        let previous = self.current_owner(&account.open_id).await?;
        let mut owner = Put::builder()
            .table_name(&self.table)
            .set_item(Some(key(keys::owner_pk(&account.open_id), OWNER_SK)))
            .item("app_user", s(&account.app_user));
        // Optimistic lock on the ownership record: only the owner we read may be replaced.
        owner = match &previous {
            None => owner.condition_expression("attribute_not_exists(pk)"),
            Some(prev) => owner
                .condition_expression("app_user = :prev")
                .expression_attribute_values(":prev", s(prev)),
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .update(self.account_update(account)?)
                .build(),
            TransactWriteItem::builder()
                .put(
                    owner
                        .build()
                        .map_err(|_| StoreError::Corrupt("owner put"))?,
                )
                .build(),
            TransactWriteItem::builder()
                .put(profile_put(&self.table, account)?)
                .build(),
        ];
        let taken_from = previous.filter(|prev| *prev != account.app_user);
        if let Some(prev) = &taken_from {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(Self::account_key(prev, &account.open_id)))
                .build()
                .map_err(|_| StoreError::Corrupt("previous owner delete"))?;
            items.push(TransactWriteItem::builder().delete(delete).build());
            items.push(
                TransactWriteItem::builder()
                    .delete(profile_delete(&self.table, prev, &account.open_id)?)
                    .build(),
            );
        }
        items.extend(also);
        Ok(if transact_if(&self.client, items).await? {
            SaveAttempt::Saved(taken_from)
        } else {
            SaveAttempt::Canceled {
                would_take_from: taken_from,
            }
        })
    }
}

/// A notice's record: `pk = NOTICE#<sha256(notice)>`, `sk = NOTICE`, kept until its TTL.
impl NoticeStore for DynamoAccountStore {
    async fn first_notice(&self, notice: &str, expires_at: i64) -> Result<bool, StoreError> {
        use sha2::{Digest as _, Sha256};
        let mut item = key(
            format!("NOTICE#{}", hex::encode(Sha256::digest(notice.as_bytes()))),
            "NOTICE",
        );
        item.insert("ttl".into(), n(expires_at));
        put_if(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)"),
        )
        .await
    }
}

impl AccountReader for DynamoAccountStore {
    async fn get(&self, app_user: &str, open_id: &OpenId) -> Result<Option<Account>, StoreError> {
        let out = get_consistent(
            &self.client,
            &self.table,
            Self::account_key(app_user, open_id),
        )
        .await?;
        out.as_ref().map(account_from_item).transpose()
    }

    /// One query of the app user's partition: the account items and their profile items.
    async fn list(&self, app_user: &str) -> Result<Vec<Account>, StoreError> {
        let pages: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::user_pk(app_user)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect()
            .await;
        let items = pages
            .into_iter()
            .collect::<Result<Vec<Item>, _>>()
            .map_err(unavailable)?;
        let profiles: HashMap<&str, &Item> = items
            .iter()
            .filter_map(|item| profile_of(item).map(|open_id| (open_id, item)))
            .collect();
        items
            .iter()
            .filter(|item| {
                get_opt_s(item, TABLE_RANGE_KEY).is_some_and(|sk| sk.starts_with(ACCOUNT_SK_PREFIX))
            })
            .map(|item| {
                let account = account_from_item(item)?;
                Ok(match profiles.get(account.open_id.as_str()) {
                    Some(profile) => with_profile(account, profile),
                    None => account,
                })
            })
            .collect()
    }
}

impl Connections for DynamoAccountStore {
    async fn save_connection(&self, account: &Account) -> Result<Option<String>, StoreError> {
        for _ in 0..OWNERSHIP_ATTEMPTS {
            match self.try_save(account, None).await? {
                SaveAttempt::Saved(taken_from) => return Ok(taken_from),
                SaveAttempt::Canceled { .. } => {
                    tracing::info!("ownership changed during connect; retrying");
                }
            }
        }
        Err(StoreError::Contention)
    }

    /// The profile item and the account item's fingerprint of it, in one transaction that
    /// applies only while the account exists (no profile outlives a disconnect). An old record's
    /// profile leaves its account item: `account` carries it, merged with TikTok's answer.
    async fn update_profile(&self, account: &Account) -> Result<(), StoreError> {
        let Some(profile) = profile_update(&self.table, account, Fields::Replace)? else {
            return Ok(());
        };
        let digest = digest_value(account);
        let expression = match digest {
            Some(_) => format!(
                "SET profile_digest = :digest REMOVE {}",
                old_profile_attrs()
            ),
            None => format!("REMOVE profile_digest, {}", old_profile_attrs()),
        };
        let account_update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::account_key(&account.app_user, &account.open_id)))
            .condition_expression("attribute_exists(pk)")
            .update_expression(expression)
            .set_expression_attribute_values(
                digest.map(|digest| HashMap::from([(":digest".to_owned(), digest)])),
            )
            .build()
            .map_err(|_| StoreError::Corrupt("profile digest update"))?;
        // Cancelled: the account is gone (disconnected meanwhile), nothing to keep.
        let items = vec![
            TransactWriteItem::builder().update(account_update).build(),
            TransactWriteItem::builder().update(profile).build(),
        ];
        transact_if(&self.client, items).await.map(|_| ())
    }

    async fn delete(&self, app_user: &str, open_id: &OpenId) -> Result<(), StoreError> {
        let account = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::account_key(app_user, open_id)))
            .build()
            .map_err(|_| StoreError::Corrupt("account delete"))?;
        // The ownership record goes too, unless another app user has taken the account over.
        let owner = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::owner_pk(open_id), OWNER_SK)))
            .condition_expression("attribute_not_exists(pk) OR app_user = :me")
            .expression_attribute_values(":me", s(app_user))
            .build()
            .map_err(|_| StoreError::Corrupt("owner delete"))?;
        let profile = profile_delete(&self.table, app_user, open_id)?;
        let ours = vec![
            TransactWriteItem::builder().delete(account).build(),
            TransactWriteItem::builder().delete(profile).build(),
        ];
        let mut all = ours.clone();
        all.push(TransactWriteItem::builder().delete(owner).build());
        if !transact_if(&self.client, all).await? {
            // Someone else owns the TikTok account now; our records alone go.
            self.client
                .transact_write_items()
                .set_transact_items(Some(ours))
                .send()
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

impl TokenRotation for DynamoAccountStore {
    async fn take_refresh_lease(
        &self,
        account: &Account,
        lease: &RefreshLease,
        now_ms: i64,
    ) -> Result<Option<Account>, StoreError> {
        // Only an active account is refreshed (the index may still list one that was just
        // marked reauth_required or revoked).
        let lease = self
            .update_at_version(
                account,
                "#status = :active AND (attribute_not_exists(refresh_lease_until_ms) \
                 OR refresh_lease_until_ms <= :now_ms)",
            )
            .update_expression("SET refresh_lease_until_ms = :until, refresh_lease_id = :lease")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":until", n(lease.until_ms))
            .expression_attribute_values(":lease", s(&lease.id))
            // The whole item, tokens included, which the due index does not copy: returned
            // values cost no read units.
            .return_values(ReturnValue::AllNew);
        match lease.send().await {
            Ok(out) => out
                .attributes
                .as_ref()
                .map(account_from_item)
                .transpose()?
                .ok_or(StoreError::Corrupt("leased account"))
                .map(Some),
            Err(err) if condition_failed(&err) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn store_refreshed(
        &self,
        account: &Account,
        renewed: &RenewedTokens,
    ) -> Result<Written, StoreError> {
        let mut set = format!(
            "SET sealed_tokens = :sealed, access_token_expires_at = :at_exp, \
             refresh_token_expires_at = :rt_exp, #status = :active, \
             token_version = token_version + :one, \
             {DUE_SHARD_ATTR} = :due_shard, {DUE_AT_ATTR} = :due_at",
        );
        let mut update = self
            // A slow winner may heal `reauth_required`, never undo a revocation by the user.
            .update_at_version(account, "#status <> :revoked")
            .expression_attribute_values(":revoked", s(AccountStatus::Revoked.as_str()))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":sealed",
                AttributeValue::B(Blob::new(renewed.sealed_tokens.clone())),
            )
            .expression_attribute_values(":at_exp", n(renewed.access_token_expires_at))
            .expression_attribute_values(":rt_exp", n(renewed.refresh_token_expires_at))
            .expression_attribute_values(":active", s(AccountStatus::Active.as_str()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(
                ":due_shard",
                s(due_shard(&account.app_user, &account.open_id)),
            )
            .expression_attribute_values(":due_at", n(renewed.refresh_due_at));
        if let Some(scopes) = &renewed.scopes {
            set.push_str(", scopes = :scopes");
            update = update.expression_attribute_values(":scopes", s(scopes.to_comma_list()));
        }
        let mut remove = "refresh_lease_until_ms, refresh_lease_id, refresh_failures".to_owned();
        if carries_old_profile(account) {
            // A record from before the profile moved out: copy it to its own item first, then
            // this write takes it out of the account item (a crash between leaves both, read
            // the same way; the next write moves it again).
            self.move_old_profile(account).await?;
            remove = format!("{remove}, {}", old_profile_attrs());
        }
        conditional(update.update_expression(format!("{set} REMOVE {remove}"))).await
    }

    async fn release_refresh_lease(
        &self,
        account: &Account,
        lease_id: &str,
    ) -> Result<(), StoreError> {
        conditional(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::account_key(&account.app_user, &account.open_id)))
                .condition_expression("refresh_lease_id = :lease")
                .expression_attribute_values(":lease", s(lease_id))
                .update_expression("REMOVE refresh_lease_until_ms, refresh_lease_id"),
        )
        .await
        // Not ours any more (taken over after expiry, or consumed by a token write): fine.
        .map(|_| ())
    }

    async fn set_status(
        &self,
        account: &Account,
        status: AccountStatus,
    ) -> Result<Written, StoreError> {
        conditional(
            self.update_at_version(account, "")
                // Out of the due index: nothing to refresh until the person reconnects.
                .update_expression(format!(
                    "SET #status = :status REMOVE refresh_lease_until_ms, refresh_lease_id, \
                     {DUE_SHARD_ATTR}, {DUE_AT_ATTR}"
                ))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str())),
        )
        .await
    }
}

impl RefreshQueue for DynamoAccountStore {
    async fn due_page(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> Result<Vec<Account>, StoreError> {
        let out = self
            .due_query(shard, horizon, after)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .iter()
            .map(listed_account_from_item)
            .collect()
    }

    async fn count_due(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
    ) -> Result<u64, StoreError> {
        let pages: Vec<_> = self
            .due_query(shard, horizon, after)
            .select(Select::Count)
            .into_paginator()
            .send()
            .collect()
            .await;
        let mut count = 0;
        for page in pages {
            count += u64::try_from(page.map_err(unavailable)?.count).unwrap_or_default();
        }
        Ok(count)
    }

    async fn postpone_refresh(
        &self,
        account: &Account,
        due_at: i64,
    ) -> Result<Written, StoreError> {
        conditional(
            self.update_at_version(account, "attribute_exists(#due)")
                .update_expression(
                    "SET #due = :due_at, refresh_failures = if_not_exists(refresh_failures, :zero) + :one",
                )
                .expression_attribute_names("#due", DUE_AT_ATTR)
                .expression_attribute_values(":due_at", n(due_at))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1)),
        )
        .await
    }
}

impl Revocations for DynamoAccountStore {
    async fn mark_revoked(
        &self,
        open_id: &OpenId,
        removed_at: i64,
        reason: RevokeReason,
    ) -> Result<Option<String>, StoreError> {
        let Some(owner) = self.current_owner(open_id).await? else {
            return Ok(None);
        };
        // The version moves on, so a refresh in flight cannot store tokens over the revocation.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::account_key(&owner, open_id)))
            .condition_expression("attribute_exists(pk) AND connected_at <= :removed_at")
            .update_expression(
                "SET #status = :revoked, revoked_reason = :reason, \
                 token_version = token_version + :one \
                 REMOVE sealed_tokens, refresh_lease_until_ms, #shard, #due",
            )
            .expression_attribute_values(":removed_at", n(removed_at))
            .expression_attribute_values(":reason", n(reason.code()))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#shard", DUE_SHARD_ATTR)
            .expression_attribute_names("#due", DUE_AT_ATTR)
            .expression_attribute_values(":revoked", s(AccountStatus::Revoked.as_str()))
            .expression_attribute_values(":one", n(1));
        match conditional(update).await? {
            Written::Yes => Ok(Some(owner)),
            Written::Stale => Ok(None),
        }
    }
}

/// An account as the due index projects it ([`keys::DUE_INDEX_PROJECTION`]): no tokens, no
/// profile, no lease.
fn listed_account_from_item(item: &Item) -> Result<Account, StoreError> {
    Ok(Account {
        app_user: get_s(item, "app_user")?,
        open_id: get_s(item, "open_id")?.into(),
        union_id: None,
        display_name: None,
        avatar_url: None,
        username: None,
        profile_digest: None,
        scopes: get_scopes(item, "scopes")?,
        status: AccountStatus::parse(&get_s(item, "status")?)
            .ok_or(StoreError::Corrupt("status"))?,
        revoked_reason: None,
        sealed_tokens: Vec::new(),
        access_token_expires_at: get_n(item, "access_token_expires_at")?,
        refresh_token_expires_at: get_n(item, "refresh_token_expires_at")?,
        connected_at: get_n(item, "connected_at")?,
        token_version: get_n(item, "token_version")?,
        grant_id: get_s(item, "grant_id").unwrap_or_default(),
        refresh_lease_until_ms: None,
        refresh_due_at: get_n(item, DUE_AT_ATTR).ok(),
        refresh_failures: get_n(item, "refresh_failures")
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

fn account_from_item(item: &Item) -> Result<Account, StoreError> {
    let listed = listed_account_from_item(item)?;
    Ok(Account {
        union_id: get_opt_s(item, "union_id"),
        display_name: get_opt_s(item, "display_name"),
        avatar_url: get_opt_s(item, "avatar_url"),
        username: get_opt_s(item, "username"),
        profile_digest: get_opt_s(item, "profile_digest"),
        revoked_reason: get_n(item, "revoked_reason")
            .ok()
            .map(RevokeReason::from_code),
        // A revoked account keeps no tokens (`mark_revoked` removes them).
        sealed_tokens: match get_b(item, "sealed_tokens") {
            Err(_) if listed.status == AccountStatus::Revoked => Vec::new(),
            other => other?,
        },
        refresh_lease_until_ms: get_n(item, "refresh_lease_until_ms").ok(),
        ..listed
    })
}
