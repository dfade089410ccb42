use sha2::{Digest as _, Sha256};

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

    /// A key from its stored hash (what the adapters and the in-memory fake keep).
    pub fn from_hash(hash: &str) -> Self {
        Self(hash.to_owned())
    }
}
