//! TikTok's ids as types, so an `open_id` cannot be passed where an app user id or a
//! `publish_id` is expected (`AppUser` is the app's own, in `app_user.rs`). Each derefs to `str`
//! for keys, logs and events, as `oauth2`'s typed ids deref to their string.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// The longest `open_id` the API accepts from the app (TikTok's are about 40 characters).
pub const MAX_OPEN_ID_LEN: usize = 128;

/// TikTok's id of a person for this client key (`open_id`): what keys an account beside its app
/// user. Not a secret, but logs show it shortened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpenId(String);

impl OpenId {
    /// An id from the app (a path or query parameter, a request body): 1–128 visible ASCII
    /// characters, or `None`.
    pub fn parse(value: &str) -> Option<Self> {
        let valid = !value.is_empty()
            && value.len() <= MAX_OPEN_ID_LEN
            && value.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(value.to_owned()))
    }

    /// The id as TikTok spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for OpenId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// An id TikTok answered with, or one read back from our own store: taken as it is (ids from the
/// app go through [`OpenId::parse`]).
impl From<String> for OpenId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for OpenId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<OpenId> for String {
    fn from(id: OpenId) -> Self {
        id.0
    }
}

impl From<&OpenId> for String {
    fn from(id: &OpenId) -> Self {
        id.0.clone()
    }
}

/// Maps keyed by `OpenId` can be read with a `&str`.
impl Borrow<str> for OpenId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for OpenId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for OpenId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_id_from_the_app_is_visible_ascii_of_bounded_length() {
        assert_eq!(
            OpenId::parse("-000abc_DEF.1").expect("valid"),
            "-000abc_DEF.1"
        );
        assert!(OpenId::parse("").is_none());
        assert!(OpenId::parse("has space").is_none());
        assert!(OpenId::parse("é").is_none());
        assert!(OpenId::parse(&"a".repeat(MAX_OPEN_ID_LEN)).is_some());
        assert!(OpenId::parse(&"a".repeat(MAX_OPEN_ID_LEN + 1)).is_none());
    }

    #[test]
    fn an_open_id_serializes_as_its_string() {
        let id = OpenId::from("-000abc");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"-000abc\"");
    }
}
