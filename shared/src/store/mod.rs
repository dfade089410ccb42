//! Persistence ports (`StateStore`, `AccountStore`) and their DynamoDB adapters.
//!
//! One table, string keys `pk`/`sk`:
//! - OAuth state: `pk = STATE#<sha256(state)>`, `sk = STATE`
//! - account:     `pk = USER#<app user>`, `sk = TIKTOK#<open_id>`
//! - ownership:   `pk = OPENID#<open_id>`, `sk = OWNER` (a TikTok account belongs to one app user)

mod dynamo;
mod keys;

use std::future::Future;

pub use dynamo::{DynamoAccountStore, DynamoStateStore};
pub use keys::{StateKey, TABLE_HASH_KEY, TABLE_RANGE_KEY};

use crate::scope::ScopeSet;

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
    pub app_user: String,
    pub scopes: ScopeSet,
    pub return_to: String,
    /// The PKCE verifier, KMS-encrypted under `EncryptionContext::pkce_verifier`.
    pub sealed_verifier: Option<Vec<u8>>,
    /// Unix seconds; checked in code because DynamoDB TTL deletes late.
    pub expires_at: i64,
}

pub trait StateStore: Send + Sync {
    fn put(
        &self,
        key: &StateKey,
        state: &PendingState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

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
    Active,
    ReauthRequired,
    Revoked,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ReauthRequired => "reauth_required",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "active" => Some(Self::Active),
            "reauth_required" => Some(Self::ReauthRequired),
            "revoked" => Some(Self::Revoked),
            _ => None,
        }
    }
}

/// A TikTok account connected by an app user. Tokens are present only as ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub app_user: String,
    pub open_id: String,
    pub union_id: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub username: Option<String>,
    pub scopes: ScopeSet,
    pub status: AccountStatus,
    /// KMS ciphertext of the token pair, context `EncryptionContext::tokens(app_user, open_id)`.
    pub sealed_tokens: Vec<u8>,
    pub access_token_expires_at: i64,
    pub refresh_token_expires_at: i64,
    pub connected_at: i64,
    /// Incremented by every token write; conditional writes compare it (race-safe refresh).
    pub token_version: i64,
}

pub trait AccountStore: Send + Sync {
    /// Stores a new or renewed connection (status `active`, version bumped). When another app user
    /// owned this TikTok account, their record is removed in the same transaction. Returns that
    /// previous owner, if any.
    fn save_connection(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn get(
        &self,
        app_user: &str,
        open_id: &str,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    fn list(&self, app_user: &str)
    -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;
}
