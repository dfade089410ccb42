use sha2::{Digest as _, Sha256};

pub const TABLE_HASH_KEY: &str = "pk";
pub const TABLE_RANGE_KEY: &str = "sk";

/// The stored form of an OAuth `state`: its SHA-256, so the table never holds a live state value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey(String);

impl StateKey {
    pub fn from_state(state: &str) -> Self {
        Self(hex::encode(Sha256::digest(state.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The stored form of a pending connection's id: its SHA-256, like a state's, so the table never
/// holds the value that confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionKey(String);

impl ConnectionKey {
    pub fn from_id(connection_id: &str) -> Self {
        Self(hex::encode(Sha256::digest(connection_id.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key from its stored hash (the in-memory fake keeps hashes).
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn from_hash(hash: &str) -> Self {
        Self(hash.to_owned())
    }

    /// The key back from a stored `pk`.
    pub(crate) fn from_pk(pk: &str) -> Option<Self> {
        pk.strip_prefix(CONNECTION_PK_PREFIX)
            .filter(|hash| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|hash| Self(hash.to_owned()))
    }
}

pub(crate) const CONNECTION_PK_PREFIX: &str = "CONNECTION#";
pub(crate) const CONNECTION_SK: &str = "PENDING";
/// The due-index partition of pending connections, keyed by their expiry: the job finds the
/// expired ones there (never the account shards' `DUE#nn`).
pub(crate) const PENDING_DUE_SHARD: &str = "PENDING";

pub(crate) fn connection_pk(key: &ConnectionKey) -> String {
    format!("{CONNECTION_PK_PREFIX}{}", key.as_str())
}

pub(crate) fn state_pk(key: &StateKey) -> String {
    format!("STATE#{}", key.as_str())
}

pub(crate) fn user_pk(app_user: &str) -> String {
    format!("USER#{app_user}")
}

pub(crate) fn account_sk(open_id: &str) -> String {
    format!("TIKTOK#{open_id}")
}

pub(crate) fn owner_pk(open_id: &str) -> String {
    format!("OPENID#{open_id}")
}

pub(crate) const STATE_SK: &str = "STATE";
/// A per-minute rate window (`pk = RATE#<sha256(subject)>#<window>`).
pub(crate) const RATE_SK: &str = "RATE";
pub(crate) const OWNER_SK: &str = "OWNER";
pub(crate) const ACCOUNT_SK_PREFIX: &str = "TIKTOK#";

/// The sparse global secondary index of scheduled refreshes.
pub const DUE_INDEX: &str = "refresh-due";
pub const DUE_SHARD_ATTR: &str = "due_shard";
pub const DUE_AT_ATTR: &str = "due_at";
