use sha2::{Digest as _, Sha256};

/// The stored form of an OAuth `state`: its SHA-256, so the table never holds a live state value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey(String);

impl StateKey {
    /// The key of a raw `state` value: its SHA-256 in hex.
    pub fn from_state(state: &str) -> Self {
        Self(hex::encode(Sha256::digest(state.as_bytes())))
    }

    /// The hex SHA-256 (64 characters): the item's `pk` suffix and the PKCE verifier's encryption
    /// context.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The stored form of a pending connection's id: its SHA-256, like a state's, so the table never
/// holds the value that confirms it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionKey(String);

impl ConnectionKey {
    /// The key of a raw connection id (the one the app confirms): its SHA-256 in hex.
    pub fn from_id(connection_id: &str) -> Self {
        Self(hex::encode(Sha256::digest(connection_id.as_bytes())))
    }

    /// The hex SHA-256 (64 characters), as in the item's `pk`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key from its stored hash (what the adapters and the in-memory fake keep).
    pub fn from_hash(hash: &str) -> Self {
        Self(hash.to_owned())
    }
}
