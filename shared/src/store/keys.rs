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
pub(crate) const OWNER_SK: &str = "OWNER";
pub(crate) const ACCOUNT_SK_PREFIX: &str = "TIKTOK#";

/// The sparse global secondary index of scheduled refreshes.
pub const DUE_INDEX: &str = "refresh-due";
pub const DUE_SHARD_ATTR: &str = "due_shard";
pub const DUE_AT_ATTR: &str = "due_at";
