//! Persistence ports (`StateStore`; the account roles `AccountReader`, `Connections`,
//! `TokenRotation`, `RefreshQueue`, `Revocations`, all five `AccountStore`;
//! `PendingConnectionStore`, `PublishStore`) and the shapes they store. The DynamoDB adapters are `connect_adapters::dynamo*`.
//!
//! One table, string keys `pk`/`sk`:
//! - OAuth state: `pk = STATE#<sha256(state)>`, `sk = STATE`
//! - account:     `pk = USER#<app user>`, `sk = TIKTOK#<open_id>`
//! - ownership:   `pk = OPENID#<open_id>`, `sk = OWNER` (a TikTok account belongs to one app user)
//! - pending connection: `pk = CONNECTION#<sha256(connection_id)>`, `sk = PENDING` (a grant the
//!   callback received, kept until the app user who started it confirms it)
//! - posts and scheduled posts: `publishing.rs`, `scheduled.rs`

mod keys;
mod publishing;
mod scheduled;

use std::future::Future;

use crate::ids::OpenId;

pub use publishing::{
    Advanced, Claim, PUBLIC_ID_WAIT_SECS, PostingHistory, PublishRecord, PublishStore,
    StatusUpdate, StoredAnswer, idempotency_hash,
};

pub use keys::{ConnectionKey, StateKey};
pub use scheduled::{
    FireClaim, FireOutcome, ListFilter, ListPage, ListPosition, ListedPost, MAX_FIRE_ATTEMPTS,
    MAX_FIRE_DELAY_SECS, SCHEDULED_ID_PREFIX, ScheduleState, ScheduleStore, ScheduledPost,
};

use crate::scope::ScopeSet;

/// Why a call to a store port failed. The API answers each kind as `503 service_unavailable`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB refused or could not be reached; nothing was written.
    #[error("DynamoDB call failed: {0}")]
    Unavailable(String),
    /// An item exists but does not have the shape this code writes.
    #[error("stored item is malformed: {0}")]
    Corrupt(&'static str),
    /// Another writer kept winning a conditional write.
    #[error("conditional write lost repeatedly")]
    Contention,
}

/// What `authorize` remembers until the callback, bound to one app user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingState {
    /// The app user who started the connect; the callback keeps the grant for them alone.
    pub app_user: String,
    /// The scopes the authorize URL asked for; the callback records at most these as granted.
    pub scopes: ScopeSet,
    /// Where the browser goes after the callback: an allowed return URL (checked at `authorize`,
    /// checked again at the callback).
    pub return_to: String,
    /// The redirect_uri the authorize URL carried; the code exchange must send the same one.
    /// `None` for states stored before it was recorded.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier, KMS-encrypted under `EncryptionContext::pkce_verifier`.
    pub sealed_verifier: Option<Vec<u8>>,
    /// Unix seconds; checked in code because DynamoDB TTL deletes late.
    pub expires_at: i64,
}

/// Single-use OAuth states between `authorize` and the callback, and the per-app-user quota of
/// connect starts. Adapter: `connect_adapters::DynamoStateStore`.
pub trait StateStore: Send + Sync {
    /// Stores `state` under `key` (the SHA-256 of the raw `state`, which is never stored).
    fn put(
        &self,
        key: &StateKey,
        state: &PendingState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts one connect start of `app_user` in the minute `minute` (Unix minutes); `false`
    /// when `limit` starts were already counted there (nothing counted then).
    fn count_start(
        &self,
        app_user: &str,
        minute: i64,
        limit: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Consumes the state in one atomic conditional delete; `None` when it is unknown, already used
    /// or expired at `now` (an expired state is left for TTL to remove, so nothing changes).
    fn take(
        &self,
        key: &StateKey,
        now: i64,
    ) -> impl Future<Output = Result<Option<PendingState>, StoreError>> + Send;
}

/// Connection status as shown to the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Tokens usable: refreshed on demand and by the scheduled job.
    Active,
    /// The grant no longer refreshes (`invalid_grant`, or the refresh token ended): the app user
    /// must connect again. Taken out of the refresh schedule.
    ReauthRequired,
    /// The user removed the grant at TikTok (webhook `authorization.removed`); tokens deleted.
    Revoked,
}

impl AccountStatus {
    /// The name stored and shown to the app: `active`, `reauth_required` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ReauthRequired => "reauth_required",
            Self::Revoked => "revoked",
        }
    }

    /// The status named by `as_str`; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "reauth_required" => Some(Self::ReauthRequired),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// Why TikTok removed a grant: the `reason` of `authorization.removed`
/// (docs/tiktok.md#webhooks), so an app can tell "the user removed the app" from "the account was
/// banned".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// 0, or a code this service does not know (TikTok may add some).
    Unknown,
    /// 1: the user disconnected the app in TikTok.
    UserDisconnected,
    /// 2: the TikTok account was deleted.
    AccountDeleted,
    /// 3: the user's age changed.
    AgeChanged,
    /// 4: the TikTok account was banned.
    AccountBanned,
    /// 5: the developer (this service or the app) revoked the grant.
    DeveloperRevoked,
}

impl RevokeReason {
    /// The reason of TikTok's code; codes outside 1–5 are `Unknown`.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::UserDisconnected,
            2 => Self::AccountDeleted,
            3 => Self::AgeChanged,
            4 => Self::AccountBanned,
            5 => Self::DeveloperRevoked,
            _ => Self::Unknown,
        }
    }

    /// TikTok's code, also the stored form.
    pub fn code(self) -> i64 {
        match self {
            Self::Unknown => 0,
            Self::UserDisconnected => 1,
            Self::AccountDeleted => 2,
            Self::AgeChanged => 3,
            Self::AccountBanned => 4,
            Self::DeveloperRevoked => 5,
        }
    }

    /// The name shown to the app (`revoked_reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::UserDisconnected => "user_disconnected",
            Self::AccountDeleted => "account_deleted",
            Self::AgeChanged => "age_changed",
            Self::AccountBanned => "account_banned",
            Self::DeveloperRevoked => "developer_revoked",
        }
    }
}

/// A TikTok account connected by an app user. Tokens are present only as ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The app user who connected it (the verified JWT subject, see `AppUser`). Part of the item's
    /// key and of the tokens' encryption context.
    pub app_user: String,
    /// TikTok's id of the user for this client key. One app user at a time owns it.
    pub open_id: OpenId,
    /// TikTok's id of the user across one developer's apps; `None` until a profile read gave it.
    pub union_id: Option<String>,
    /// TikTok display name, for showing the connection; `None` until a profile read returned it.
    pub display_name: Option<String>,
    /// TikTok avatar URL; `None` until a profile read returned it.
    pub avatar_url: Option<String>,
    /// TikTok `@` handle; needs `user.info.profile`, so often `None`.
    pub username: Option<String>,
    /// [`Account::profile_fingerprint`] of the profile as last stored; `None` on records from
    /// before it. The DynamoDB adapter keeps the profile in an item of its own, which a single
    /// read (`AccountReader::get`) does not return: the fingerprint, stored with the tokens, is
    /// how `GET /tiktok/me` knows whether TikTok's answer changed it (docs/operations.md#write-units-per-refresh).
    pub profile_digest: Option<String>,
    /// The scopes the user granted (cut to those requested). Routes check them before calling
    /// TikTok; a refresh answer that names scopes replaces them.
    pub scopes: ScopeSet,
    /// What the app is shown; only `Active` accounts get tokens (`refresh` refuses the others).
    pub status: AccountStatus,
    /// Why TikTok removed the grant, when `status` is `Revoked` (a new connection clears it).
    pub revoked_reason: Option<RevokeReason>,
    /// The sealed token pair (an envelope, or a KMS ciphertext from before envelopes), context
    /// `EncryptionContext::tokens(app_user, open_id)`. Empty for a revoked account, and for one
    /// listed by [`RefreshQueue::due_page`] (the due index does not copy it): open the account
    /// [`TokenRotation::take_refresh_lease`] returns instead.
    pub sealed_tokens: Vec<u8>,
    /// When the access token expires, Unix seconds (now + TikTok's `expires_in`).
    pub access_token_expires_at: i64,
    /// When the refresh token expires, Unix seconds. Refreshing does not extend it; once it has
    /// passed, the account needs a new connect.
    pub refresh_token_expires_at: i64,
    /// When the app user confirmed this connection, Unix seconds.
    pub connected_at: i64,
    /// Incremented by every token write; conditional writes compare it (race-safe refresh).
    pub token_version: i64,
    /// Random id of the grant this record holds, new at every connect. Every conditional write
    /// names it beside the version: the version starts again at 1 after a delete, so a write
    /// meant for an earlier grant (a refresh in flight, a job item listed before a disconnect and
    /// reconnect) would otherwise land on the newer one. Empty on records written before it
    /// existed (their writes then require it to be absent).
    pub grant_id: String,
    /// While set and in the future, one caller is refreshing these tokens (Unix milliseconds;
    /// the lease lasts as long as its holder may still write, see `refresh`).
    pub refresh_lease_until_ms: Option<i64>,
    /// When the scheduled job should refresh next (`None`: not scheduled, e.g. reauth required).
    /// Stored with the due-index partition, so only scheduled accounts are in the index.
    pub refresh_due_at: Option<i64>,
    /// Failed scheduled refreshes in a row (drives the job's backoff).
    pub refresh_failures: u32,
}

impl Account {
    /// A short digest of the profile (`union_id`, `display_name`, `avatar_url`, `username`):
    /// 16 hex characters of SHA-256. Stored as [`Account::profile_digest`] whenever the profile
    /// is written. A collision only delays a cosmetic update.
    pub fn profile_fingerprint(&self) -> String {
        use sha2::{Digest as _, Sha256};
        let mut hash = Sha256::new();
        for field in [
            &self.union_id,
            &self.display_name,
            &self.avatar_url,
            &self.username,
        ] {
            // Presence and length first, so no two profiles hash the same bytes.
            match field {
                Some(value) => {
                    hash.update([1]);
                    hash.update((value.len() as u64).to_be_bytes());
                    hash.update(value.as_bytes());
                }
                None => hash.update([0]),
            }
        }
        hex::encode(&hash.finalize()[..8])
    }

    /// The same account with its profile fingerprinted as stored: what a write of the profile
    /// records.
    pub fn with_profile_digest(self) -> Self {
        Self {
            profile_digest: Some(self.profile_fingerprint()),
            ..self
        }
    }
}

/// Where a walk through the due index stopped: the last account returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    /// The account's `refresh_due_at`, Unix seconds (0 when it had none).
    pub due_at: i64,
    /// The account's app user; with `open_id`, it names the item the walk continues after.
    pub app_user: String,
    /// The account's TikTok id (see `app_user`).
    pub open_id: OpenId,
}

impl DueCursor {
    /// The cursor that continues after `account` (the last one of a page).
    pub fn after(account: &Account) -> Self {
        Self {
            due_at: account.refresh_due_at.unwrap_or_default(),
            app_user: account.app_user.clone(),
            open_id: account.open_id.clone(),
        }
    }
}

/// A claim on the right to refresh one account's tokens, held until `until_ms` (Unix
/// milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshLease {
    /// Random 128-bit hex id of the holder; only this id can give the lease back.
    pub id: String,
    /// When the lease ends, wall-clock Unix milliseconds (other hosts compare it with theirs).
    pub until_ms: i64,
}

/// What a successful refresh writes, in one conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewedTokens {
    /// The new access *and* refresh token, sealed together.
    pub sealed_tokens: Vec<u8>,
    /// When the new access token expires, Unix seconds.
    pub access_token_expires_at: i64,
    /// When the new refresh token expires, Unix seconds (now + TikTok's `refresh_expires_in`).
    pub refresh_token_expires_at: i64,
    /// The scopes in the refresh answer, when TikTok sent them.
    pub scopes: Option<ScopeSet>,
    /// When the scheduled job should refresh next.
    pub refresh_due_at: i64,
}

/// The outcome of a conditional write that compares `token_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The condition held and the write was applied.
    Yes,
    /// Another writer changed the tokens (or the account is gone); re-read.
    Stale,
}

/// Reads accounts: one by its keys, or all of an app user's. DynamoDB: `GetItem` and `Query` on
/// the table, strongly consistent.
pub trait AccountReader: Send + Sync {
    /// One account of `app_user` (a strongly consistent read); `None` when it is not connected.
    /// The profile fields may be `None` where the store keeps the profile apart from the tokens
    /// (DynamoDB: `list` returns them; [`Account::profile_digest`] tells whether one is stored).
    fn get(
        &self,
        app_user: &str,
        open_id: &OpenId,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    /// Every account `app_user` connected, whatever its status (strongly consistent; in no order
    /// the caller may rely on).
    fn list(&self, app_user: &str)
    -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;
}

/// Connects, disconnects and keeps the displayed profile. DynamoDB: `TransactWriteItems` (the
/// account with its profile and ownership records: `PutItem`, `UpdateItem`, `DeleteItem`),
/// `GetItem` of the ownership record.
pub trait Connections: Send + Sync {
    /// Stores a new or renewed connection (status `active`, version bumped). When another app user
    /// owned this TikTok account, their record is removed in the same transaction. Returns that
    /// previous owner, if any.
    fn save_connection(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Keeps the displayed profile in step with TikTok (no effect if the account is gone):
    /// stores `account`'s known profile fields and its `profile_digest`.
    fn update_profile(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the account and its ownership record. Deleting a missing account is not an error.
    fn delete(
        &self,
        app_user: &str,
        open_id: &OpenId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Rotates tokens under the refresh lease (docs/operations.md#races): every write is conditioned
/// on `token_version`. DynamoDB: `UpdateItem` on the table.
pub trait TokenRotation: Send + Sync {
    /// Takes the refresh lease when the tokens are still at `account.token_version` and no other
    /// lease is live at `now_ms` (Unix milliseconds). Returns the account as leased, whole (its
    /// tokens and profile too, which an account listed by [`RefreshQueue::due_page`] lacks:
    /// the write hands them back at no extra cost); `None` means someone else refreshed or is
    /// refreshing.
    fn take_refresh_lease(
        &self,
        account: &Account,
        lease: &RefreshLease,
        now_ms: i64,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    /// Stores refreshed tokens if the tokens are still at `account.token_version`: status
    /// `active`, version bumped, lease cleared. Deliberately not bound to the lease: whoever got
    /// new tokens from TikTok (only one caller can, per refresh token) must be able to keep them.
    fn store_refreshed(
        &self,
        account: &Account,
        renewed: &RenewedTokens,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Gives a lease back early (after a failed refresh), if it is still ours.
    fn release_refresh_lease(
        &self,
        account: &Account,
        lease_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Sets the status if the tokens are still at `account.token_version` (the version is not
    /// bumped, so a refresh that was in flight can still store its tokens and heal the account).
    fn set_status(
        &self,
        account: &Account,
        status: AccountStatus,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;
}

/// The refresh schedule, for the job: the due index read shard by shard, and a failed refresh put
/// back with backoff. DynamoDB: `Query` on the due index, `UpdateItem` on the table.
pub trait RefreshQueue: Send + Sync {
    /// Accounts of one due-index shard whose refresh is due at or before `horizon`, oldest due
    /// first, at most `limit`, continuing after `after`. The index is eventually consistent: an
    /// account may already have been refreshed (its version tells). Each is listed as the index
    /// projects it: what the job chooses by (keys, status, version, grant, expiries, failures),
    /// without `sealed_tokens` (empty), the profile (`None`) or a lease: the index copies no
    /// ciphertext, so a refresh writes only a small entry of it (docs/operations.md#write-units-per-refresh).
    /// [`take_refresh_lease`](Self::take_refresh_lease) returns the whole account.
    fn due_page(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;

    /// How many accounts of one shard are due at or before `horizon` after `after` (no items
    /// are returned; for the job's `remaining` figure).
    fn count_due(
        &self,
        shard: u16,
        horizon: i64,
        after: Option<&DueCursor>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// After a failed scheduled refresh: due again at `due_at`, one more failure counted; only if
    /// the tokens are still at `account.token_version` and the account is still scheduled.
    fn postpone_refresh(
        &self,
        account: &Account,
        due_at: i64,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;
}

/// Grants TikTok says the user removed (the `authorization.removed` webhook). DynamoDB: `GetItem`
/// of the ownership record, `UpdateItem` of the account.
pub trait Revocations: Send + Sync {
    /// TikTok says the user removed the grant at `removed_at` (Unix seconds): the account
    /// (whoever owns it) is marked `revoked`, its tokens are deleted and it leaves the refresh
    /// schedule. A connection made after `removed_at` is a new grant and is left alone (TikTok
    /// retries a webhook for 72 hours). Returns the owning app user, or `None` when no account
    /// was changed.
    fn mark_revoked(
        &self,
        open_id: &OpenId,
        removed_at: i64,
        reason: RevokeReason,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// Connected accounts (one item per app user and TikTok account), their ownership records and the
/// due index. Writes that race a refresh are conditioned on `token_version` and
/// `grant_id`. Adapter: `connect_adapters::DynamoAccountStore`.
///
/// Every role at once, for an adapter that plays them all; a service or function names only the
/// roles it uses, and they tell which DynamoDB actions its role needs (infra/permissions.yaml).
pub trait AccountStore:
    AccountReader + Connections + TokenRotation + RefreshQueue + Revocations
{
}

impl<T: AccountReader + Connections + TokenRotation + RefreshQueue + Revocations> AccountStore
    for T
{
}

/// A grant the callback received, waiting for the app user who started the connect to confirm
/// it (RFC 9700 §4.7: the person who approved at TikTok may not be the one who started). Tokens
/// are sealed exactly as an account's, so confirming stores them without a KMS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingConnection {
    /// The app user whose state the callback consumed: the only one who may confirm.
    pub app_user: String,
    /// TikTok's id of the user for this client key, from the code exchange.
    pub open_id: OpenId,
    /// From the profile read at the callback; `None` when that read failed or ran out of time.
    pub union_id: Option<String>,
    /// From the profile read at the callback; `None` when that read failed or ran out of time.
    pub display_name: Option<String>,
    /// From the profile read at the callback; `None` when that read failed or ran out of time.
    pub avatar_url: Option<String>,
    /// Needs `user.info.profile`; `None` without it or when the profile read failed.
    pub username: Option<String>,
    /// The scopes granted, cut to those the state asked for.
    pub scopes: ScopeSet,
    /// KMS ciphertext of the token pair, context `EncryptionContext::tokens(app_user, open_id)`.
    pub sealed_tokens: Vec<u8>,
    /// When the access token expires, Unix seconds (from the code exchange's `expires_in`).
    pub access_token_expires_at: i64,
    /// When the refresh token expires, Unix seconds (from `refresh_expires_in`).
    pub refresh_token_expires_at: i64,
    /// Unix seconds; checked in code (DynamoDB TTL deletes late), and the job revokes the grant
    /// of an expired one.
    pub expires_at: i64,
}

/// How a confirm ended in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The account is stored and the pending connection consumed, in one transaction;
    /// `previous_owner` is the app user who held this TikTok account until now, if another.
    Saved {
        /// The app user who held this TikTok account until now, if another; their record is gone.
        previous_owner: Option<String>,
    },
    /// The pending connection was used, cancelled or expired meanwhile; nothing was written.
    Gone,
}

/// One-time notices: remembers that something was announced, so that it is announced once
/// (`account.reconnect_soon` once per refresh token). Same table; adapter:
/// `connect_adapters::DynamoAccountStore`.
pub trait NoticeStore: Send + Sync {
    /// `true` the first time `notice` is claimed; `false` when it was already (until
    /// `expires_at`, Unix seconds, when it may be forgotten).
    fn first_notice(
        &self,
        notice: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Grants the callback received, kept until their app user confirms or cancels them or they expire
/// (the scheduled job revokes expired ones). Same table as the accounts; adapter:
/// `connect_adapters::DynamoAccountStore`.
pub trait PendingConnectionStore: Send + Sync {
    /// Stores `pending` under `key` (the SHA-256 of the connection id, which is never stored).
    fn put_pending(
        &self,
        key: &ConnectionKey,
        pending: &PendingConnection,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The pending connection if it is still there and unexpired at `now` (a strong read).
    fn get_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> impl Future<Output = Result<Option<PendingConnection>, StoreError>> + Send;

    /// Consumes an unexpired pending connection in one conditional delete (cancel, mismatch).
    fn take_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> impl Future<Output = Result<Option<PendingConnection>, StoreError>> + Send;

    /// Stores `account` as [`Connections::save_connection`] does and consumes the pending
    /// connection, in one transaction: a confirm either does both or nothing.
    fn confirm_pending(
        &self,
        key: &ConnectionKey,
        account: &Account,
        now: i64,
    ) -> impl Future<Output = Result<Confirmation, StoreError>> + Send;

    /// Pending connections expired at `now`, oldest first, at most `limit`.
    fn expired_pending(
        &self,
        now: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(ConnectionKey, PendingConnection)>, StoreError>> + Send;

    /// Whether an account here holds `open_id` (its ownership record exists). TikTok's revoke
    /// disconnects the app from the whole TikTok account, so a pending grant of a TikTok user
    /// who is connected is only forgotten, never revoked.
    fn open_id_connected(
        &self,
        open_id: &OpenId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes a pending connection that expired at or before `now` (a confirm can no longer
    /// take it, so revoking first and deleting after cannot race one).
    fn forget_expired_pending(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A new [`Account::grant_id`]: 128 random bits, hex.
pub fn new_grant_id() -> String {
    use rand::Rng as _;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(display_name: Option<&str>, username: Option<&str>) -> Account {
        Account {
            app_user: "user-1".into(),
            open_id: "open-1".into(),
            union_id: None,
            display_name: display_name.map(str::to_owned),
            avatar_url: None,
            username: username.map(str::to_owned),
            profile_digest: None,
            scopes: ScopeSet::default(),
            status: AccountStatus::Active,
            revoked_reason: None,
            sealed_tokens: vec![1, 2, 3],
            access_token_expires_at: 0,
            refresh_token_expires_at: 0,
            connected_at: 0,
            token_version: 1,
            grant_id: String::new(),
            refresh_lease_until_ms: None,
            refresh_due_at: None,
            refresh_failures: 0,
        }
    }

    #[test]
    fn the_profile_fingerprint_follows_the_profile_and_nothing_else() {
        let named = account(Some("Alice"), None).with_profile_digest();
        let digest = named.profile_digest.clone().expect("digest");
        assert_eq!(digest.len(), 16);
        // Tokens and versions are not the profile.
        let refreshed = Account {
            sealed_tokens: vec![9],
            token_version: 2,
            ..named.clone()
        };
        assert_eq!(refreshed.profile_fingerprint(), digest);
        // Each field, its absence, and where a value sits all count.
        for other in [
            account(Some("Alicia"), None),
            account(None, None),
            account(Some(""), None),
            account(None, Some("Alice")),
            account(Some("Alice"), Some("")),
        ] {
            assert_ne!(other.profile_fingerprint(), digest, "{other:?}");
        }
    }
}
