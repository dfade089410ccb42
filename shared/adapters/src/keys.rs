//! The single-table layout: how each stored item is keyed, and the refresh-due index.

use connect_domain::store::{ConnectionKey, StateKey};

/// The table's partition key attribute (a string). The devstack tests check that it and the
/// other key and index names match `infra/template.yaml`.
pub const TABLE_HASH_KEY: &str = "pk";
/// The table's sort key attribute (a string).
pub const TABLE_RANGE_KEY: &str = "sk";

/// The key of a pending connection back from its stored `pk`.
pub(crate) fn connection_key_from_pk(pk: &str) -> Option<ConnectionKey> {
    pk.strip_prefix(CONNECTION_PK_PREFIX)
        .filter(|hash| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(ConnectionKey::from_hash)
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

/// The profile shown for an account (name, avatar, handle, `union_id`), beside its account item
/// under the app user's partition and written apart from it: a refresh rewrites the account item,
/// which stays under 1 KB (one write unit) without the profile's signed avatar URL
/// (docs/operations.md#write-units-per-refresh).
pub(crate) fn profile_sk(open_id: &str) -> String {
    format!("{PROFILE_SK_PREFIX}{open_id}")
}

pub(crate) fn owner_pk(open_id: &str) -> String {
    format!("OPENID#{open_id}")
}

pub(crate) const STATE_SK: &str = "STATE";
/// A per-minute rate window (`pk = RATE#<sha256(subject)>#<window>`).
pub(crate) const RATE_SK: &str = "RATE";
pub(crate) const OWNER_SK: &str = "OWNER";
pub(crate) const ACCOUNT_SK_PREFIX: &str = "TIKTOK#";
pub(crate) const PROFILE_SK_PREFIX: &str = "PROFILE#";
/// The profile's attributes, in its own item; in the account item only on records written before
/// the profile moved out (read as a fallback, moved by the next write of the profile or tokens).
pub(crate) const PROFILE_ATTRS: [&str; 4] = ["union_id", "display_name", "avatar_url", "username"];

/// The sparse global secondary index of scheduled refreshes and pending connections' expiries.
/// It projects [`DUE_INDEX_PROJECTION`], never a ciphertext or the profile, so a refresh writes a
/// small entry of it (docs/operations.md#write-units-per-refresh).
pub const DUE_INDEX: &str = "due-by-shard";
/// The attributes the due index copies besides the keys: what the job chooses by. The lease's
/// attributes are not among them, so taking a lease does not write the index.
pub const DUE_INDEX_PROJECTION: [&str; 10] = [
    "app_user",
    "open_id",
    "status",
    "token_version",
    "grant_id",
    "scopes",
    "access_token_expires_at",
    "refresh_token_expires_at",
    "connected_at",
    "refresh_failures",
];
/// The index [`DUE_INDEX`] replaces: the same keys with every attribute projected (a
/// refresh wrote the whole item into it three times). Read only during the first of the two
/// deploys that upgrade a stack created with it (docs/deploy.md#upgrading-a-stack).
pub const LEGACY_DUE_INDEX: &str = "refresh-due";
/// The due index's partition key: `DUE#00`…`DUE#15` for scheduled accounts, `PENDING` for
/// pending connections. An item without it is not in the index.
pub const DUE_SHARD_ATTR: &str = "due_shard";
/// The due index's sort key, Unix seconds: an account's `refresh_due_at`, a pending connection's
/// `expires_at`.
pub const DUE_AT_ATTR: &str = "due_at";

/// The sparse global secondary index of an app user's posts (started and scheduled), newest
/// first.
pub const POSTS_INDEX: &str = "posts-by-user";
/// The posts index's partition key: the app user. A fired scheduled post drops it (the post it
/// started is listed instead).
pub const POSTS_OF_ATTR: &str = "posts_of";
/// The posts index's sort key, Unix seconds: when the post was started or scheduled.
pub const LISTED_AT_ATTR: &str = "listed_at";

/// The sparse global secondary index of the scheduled posts still waiting to fire, by account
/// (keys only): what a disconnect or a revocation cancels, without reading the app user's whole
/// listing.
pub const WAITING_INDEX: &str = "waiting-by-account";
/// The waiting index's partition key: the account's `open_id`, on a scheduled post from when it
/// is scheduled until it fires, fails or is cancelled. Its sort key is the post's `app_user`.
pub const WAITING_FOR_ATTR: &str = "waiting_for";

pub(crate) const PUBLISH_PK_PREFIX: &str = "PUBLISH#";
pub(crate) const PUBLISH_SK: &str = "PUBLISH";
pub(crate) const SCHEDULED_PK_PREFIX: &str = "SCHEDULED#";
pub(crate) const SCHEDULED_SK: &str = "SCHEDULED";
